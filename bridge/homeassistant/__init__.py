"""Home Assistant MQTT discovery: which entities the bridge announces, on which devices.

`entities` holds the entity description and its small constructors and value templates,
`devices` the per-unit device tables (inverter, battery, relay ...), `controls` the select,
number and switch of every control the gateway has, `discovery` builds
the retained config messages from a gateway's payloads, and `announcer` is the sink that keeps
them in step with the gateway's data.

May import: `bridge.errors`, `bridge.config`, `bridge.model`, `bridge.mqtt`, `bridge.sinks`, and
of the controls only their pure table (`bridge.controls.table`).
"""
