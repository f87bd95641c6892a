"""Home Assistant MQTT discovery: which entities the bridge announces, on which devices.

`entities` holds the entity description and its small constructors and value templates,
`devices` the per-unit device tables (inverter, battery, relay ...), and `discovery` builds
the retained config messages from a gateway's payloads.

May import: `bridge.errors`, `bridge.config`, `bridge.model`, `bridge.mqtt`.
"""
