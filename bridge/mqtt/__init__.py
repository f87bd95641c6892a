"""MQTT: the one paho client of the bridge and what it reports about its connection.

`publisher` owns the connection (last will, birth, reconnect replay of the retained store,
change-only publishing, discovery bookkeeping), `monitor` turns connection events into one
log line per transition, and `sinks` turns each cycle of a gateway into its topics.

May import: `bridge.errors`, `bridge.network_errors`, `bridge.config`, `bridge.model`, `bridge.sinks`.
"""
