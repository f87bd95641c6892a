"""The gateway side: everything that talks HTTP to one Envoy / IQ Gateway, and its poll loop.

Owns the HTTP client of one gateway (`client`), how it authenticates (`credentials`: token
sessions and 401 recovery, digest, none; `session`: check_jwt by GET or POST, or the bearer
token where there is none), its transport (`transport`: timeouts, retries, body
cap), TLS pinning (`tls`), the whole-request deadline (`deadline`), the poll groups and their
schedule (`schedule`), which endpoints a gateway answers (`probe`), the live group's freshness
and stream (`live`), the bridge's own view of the gateway (`diagnostics`), the worker that
polls a gateway and hands each cycle's snapshot to the sinks (`worker`), and the energy
counters it computes where the gateway has none, with their state file (`energy`).

May import: `bridge.errors`, `bridge.network_errors`, `bridge.config`, `bridge.auth`,
`bridge.model`, `bridge.sinks`. Never MQTT or Home Assistant: results leave through the sinks
it is given.
"""
