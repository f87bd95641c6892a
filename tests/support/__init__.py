"""Helpers shared by the tests (and the benchmarks): the real Mosquitto runner and subscribers
(`mqtt`), the bridge's command line and other child processes, started and stopped
(`processes`), the shared gateway captures (`captures`), the Home Assistant harness
(`homeassistant`), and a recording publisher with snapshots to drive the sinks (`sinks`)."""
