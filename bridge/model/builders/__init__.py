"""Payloads out: the gateway state and one document per unit, built from typed readings.

`state` assembles the `{base}/{serial}/state` document from `flows` (production and
consumption, with the firmware repairs), `ctmeters`, `grid` and `storage` (battery aggregates
and settings); `devices` gathers the unit documents: `inverters`, `batteries`, `ensemble_units`
(IQ System Controller, Meter Collar, Combiner 6C), `relays` and `generator`; `live` makes the
live group's own document. `payload` holds the document bases (a payload from the fields, a
unit's topic from its kind) and the helpers every builder uses. Each builder decides from the data itself whether a unit exists.

May import: `bridge.model.parse`, `bridge.model.kinds` (the table of unit kinds, which imports
nothing), `bridge.errors` and this package. Never the endpoint registry, HTTP, MQTT or the
configuration: the builders take `Readings`, never endpoint paths.
"""
