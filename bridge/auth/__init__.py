"""Authentication: the tokens, where they are kept, how they are renewed, where they come from.

`tokens` reads and checks a JWT offline (pure code), `store` keeps one token in a 0600 file
written atomically, `manager` owns the token of one gateway over time (choose, renew ahead of
expiry, validate, circuit breaker), and `cloud` fetches a new token from the Enphase cloud.

May import: `bridge.errors`, `bridge.network_errors`, `bridge.config`. Never the gateway
client: a new token is validated through a callback the gateway side passes in.
"""
