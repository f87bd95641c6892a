"""Controls: writes to a gateway, commanded over MQTT (docs/mqtt.md "Controls").

The rooms: `table` is THE TABLE OF CONTROLS (path, family, kind, the values each takes and
where its value shows) and `available_controls` for Home Assistant; `commands` reads a command
(topic, payload); `writes` turns a checked value into the gateway's request, reading the
document first where the gateway wants a whole one back; `executor` runs one gateway's commands
on its worker's thread (rate limit, write, read-back, result); `revert` notices a confirmed
value changed back later; `mqtt` subscribes to the `set` topics and publishes the results.

May import: `bridge.model`, `bridge.config`, `bridge.identifiers`, `bridge.errors`; the executor
also `bridge.gateway` (the worker and its client), `bridge.sinks` and the log pacing of
`bridge.mqtt.guard`; `mqtt` the publisher. `table`, `commands`, `writes` and `revert` stay pure
(a test checks it), so Home Assistant discovery may import the table. Only `app` wires it.
This file imports nothing, so importing `bridge.controls.table` pulls in nothing else.
"""
