"""MQTT: the one paho client of the bridge and what it reports about its connection.

`publisher` owns the connection (reconnect replay of the retained store, change-only
publishing, discovery bookkeeping) with `client` (paho set up: will, TLS, credentials), `acks`,
`readback` (the start-up read-back of its own discovery configs), `birth` (Home Assistant's
birth, rate-limited), `connack` (a broker that never answers), `restore` (its own topics
overwritten by someone else), `routes` (commands to their handlers, each once) and `guard` (callbacks that survive anything); `monitor` turns
connection events into one log line per transition, and `sinks` turns each cycle of a
gateway into its topics.

May import: `bridge.errors`, `bridge.network_errors`, `bridge.config`, `bridge.model`, `bridge.sinks`.
"""
