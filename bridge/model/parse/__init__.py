"""Bodies in: every endpoint's answer turned into a frozen, typed reading, and nothing more.

`codec` decodes strict JSON and reads typed fields (a wrong type or a non-finite number is an
EnvoyDataError, never a KeyError escaping); one module per family of endpoints turns a document
into its reading: `info` (/info, XML), `meters`, `production`, `reports` (per-device reports),
`ensemble`, `relay`, `settings` (tariff, dry contacts, generator), `livedata` (the live data);
`readings` bundles the latest reading of every endpoint for the builders. What is published is
decided in builders/.

May import: `bridge.errors` and this package. Never builders/, HTTP, MQTT or the configuration.
"""
