"""Authentication: the tokens, where they are kept, how they are renewed, where they come from.

`tokens` reads and checks a JWT offline (pure code), `store` keeps one token in a 0600 file
written atomically with its metadata (the flow that made it), `local` picks the configured or
cached token, `manager` owns the token of one gateway over time (choose, renew ahead of
expiry, check, validate, circuit breaker), and `cloud` fetches a new token from the Enphase
cloud by the token flows of `flows`, tried in order with fallback by `fallback`; `replies`
says what a cloud answer may show in a log line.

May import: `bridge.errors`, `bridge.network_errors`, `bridge.config`. Never the gateway
client: a new token is validated through a callback the gateway side passes in.
"""
