"""Helpers shared by the tests (and the benchmarks and scripts/reliability.py), one module a job:

- `mqtt`: the real Mosquitto runner, real paho subscribers, `wait_for`, `free_port`;
- `processes`: the bridge's command line and its config file, other child processes started
  and stopped;
- `captures`: the shared real gateway captures;
- `homeassistant`: the real Home Assistant harness;
- `node_red`: the real Node-RED, and the example flow set up as a user sets it up;
- `sinks`: a recording publisher, and snapshots to drive the sinks;
- `tokens`: Envoy tokens signed with a test key;
- `loopback`: which loopback addresses the machine has, scripted HTTP(S) servers, a gateway
  client pointed at one;
- `network_failures`: the exception chains requests raises, for `responses` to raise;
- `clock`: the fake clock.
"""
