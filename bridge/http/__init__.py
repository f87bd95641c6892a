"""The optional HTTP endpoint (`http: {listen: ...}`): `/healthz`, Prometheus `/metrics`, the status page.

The rooms: `history` is the sink that keeps, per gateway, what the page shows beyond the health
snapshot (firmware, last poll, last error, the last hour's production and consumption);
`metrics` is the Prometheus collector that reads the health snapshot and the latest state at
scrape time; `page` and `chart` render the status page; `server` serves all three from a
stdlib `ThreadingHTTPServer` in a daemon thread. Off by default, and then never imported:
`app` imports this package only when `http.listen` is set (the run path's memory stays as it was).

May import: `bridge.config`, `bridge.model`, `bridge.redaction`, `bridge.sinks` and
`prometheus_client` (`metrics` only). The health snapshot and the verdict come in as callables
from `app` (`admin/health.py`'s `snapshot()` and `check()`): nothing here judges health itself.
"""
