"""The demo's embedded MQTT 3.1.1 broker, standard library only.

When no broker answers, the demo starts this one, so mosquitto_sub, Home Assistant or Node-RED
connect to it as to any broker: MQTT 3.1.1 (and 3.1 "MQIsdp"), QoS 0/1/2 both ways, retained
messages, + and # wildcards, last will, keepalive, session takeover; IPv4 and IPv6. Sessions
are always clean. Not for production use.

It was kept over amqtt, the maintained Python broker, because amqtt failed what the bridge
relies on: on a session takeover it leaves the old connection open and later publishes its
will (the bridge's retained `online` turns `offline`), and it never enforces keepalive (a
vanished client's will never goes out).

`topics` holds the topic rules, `packets` the wire format, `routing` the shared state (who is
connected, what is retained), `session` one connection, `server` the socket and the thread.
Imports nothing of `bridge` outside this package.
"""

from __future__ import annotations

from bridge.demo.broker.server import EmbeddedBroker

__all__ = ["EmbeddedBroker"]
