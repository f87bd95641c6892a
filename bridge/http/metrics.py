"""`/metrics`: the bridge in Prometheus's text format, through the official `prometheus_client`.

A custom collector reads the health snapshot (`admin/health.py`) and each gateway's history at
scrape time, so nothing is counted twice and a scrape costs one snapshot. docs/metrics.md lists
every metric. The health snapshot's request figures cover the last hour, a window that also
shrinks, so they are gauges (`..._last_hour`), never counters: `rate()` over them would read
every drop as a counter reset. Counters are only what never steps back (MQTT messages since
start, errors since start, the gateway's lifetime energy counters, which the counter guard
holds from stepping back). A value the bridge does not know is left out, never sent as 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.http.history import GatewayView

PREFIX = "envoy_bridge"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Per endpoint, from the health snapshot: (its key, metric name, help).
ENDPOINT_FIGURES = (
    ("requests", "gateway_requests_last_hour", "HTTP requests to the gateway in the last hour, retries included"),
    ("failures", "gateway_failures_last_hour", "Requests of the last hour without a 2xx answer"),
    ("auth_refused", "gateway_auth_refused_last_hour", "Requests of the last hour answered 401 or 403"),
)
LATENCIES = (("latency_p50_s", "p50", "median"), ("latency_p99_s", "p99", "99th percentile"))
# The latest state's values (bridge/http/history.py STATE_VALUES): name -> (metric, type, help).
STATE_METRICS = {
    "production_power_w": ("production_power_watts", "gauge", "Solar production now, W"),
    "consumption_power_w": ("consumption_power_watts", "gauge", "The house's consumption now, W"),
    "net_consumption_power_w": ("net_consumption_power_watts", "gauge", "Grid power now, W: + import, - export"),
    "battery_power_w": ("battery_power_watts", "gauge", "Batteries' power now, W: + discharging, - charging"),
    "battery_soc_pct": ("battery_soc_percent", "gauge", "Batteries' state of charge, %"),
    "production_energy_wh": ("production_energy_wh", "counter", "Lifetime production, Wh"),
    "consumption_energy_wh": ("consumption_energy_wh", "counter", "Lifetime consumption, Wh"),
    "grid_imported_energy_wh": ("grid_imported_energy_wh", "counter", "Lifetime energy from the grid, Wh"),
    "grid_exported_energy_wh": ("grid_exported_energy_wh", "counter", "Lifetime energy to the grid, Wh"),
}


class BridgeCollector(Collector):
    def __init__(
        self,
        health: Callable[[], dict[str, Any]],
        views: Callable[[float], dict[str, GatewayView]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._health, self._views, self._clock = health, views, clock

    def collect(self) -> Iterator[Metric]:
        health = self._health()
        views = self._views(self._clock())
        yield from bridge_metrics(health)
        yield from gateway_metrics(health["gateways"], views)
        yield from state_metrics(health["gateways"], views)


def bridge_metrics(health: dict[str, Any]) -> Iterator[Metric]:
    mqtt = health["mqtt"]
    yield GaugeMetricFamily(f"{PREFIX}_uptime_seconds", "Seconds since the bridge started", value=health["uptime_s"])
    yield GaugeMetricFamily(f"{PREFIX}_mqtt_connected", "1 while connected to the broker", value=int(mqtt["connected"]))
    yield CounterMetricFamily(f"{PREFIX}_mqtt_sent", "Messages handed to the broker since start", value=mqtt["sent"])
    yield GaugeMetricFamily(f"{PREFIX}_mqtt_queued", "Messages waiting in the MQTT client now", value=mqtt["queued"])
    yield CounterMetricFamily(
        f"{PREFIX}_mqtt_dropped", "Messages the MQTT client would not take since start", value=mqtt["dropped"]
    )
    yield CounterMetricFamily(
        f"{PREFIX}_mqtt_reconnects", "Connections to the broker after the first", value=mqtt["reconnects"]
    )


def gateway_metrics(gateways: dict[str, Any], views: dict[str, GatewayView]) -> Iterator[Metric]:
    """Per gateway (label `gateway`: its serial, as in the MQTT topics) and endpoint."""
    info = InfoMetricFamily(f"{PREFIX}_gateway", "The gateway: its label and firmware", labels=["gateway"])
    online = _gauge("gateway_online", "1 online, 0 offline; absent before the first attempt ended")
    days = _gauge("gateway_token_days_left", "Days until the gateway's token expires")
    polled = _gauge("gateway_last_poll_timestamp_seconds", "When the gateway's last cycle ended, unix seconds")
    errors = CounterMetricFamily(
        f"{PREFIX}_gateway_errors", "Failed polls and bad answers since start", labels=["gateway"]
    )
    figures = [_gauge(name, text, "endpoint") for _, name, text in ENDPOINT_FIGURES]
    latency = [
        _gauge(f"gateway_latency_{p}_seconds", f"The {what} of the last hour's request durations")
        for _, p, what in LATENCIES
    ]
    by_endpoint = [
        _gauge(
            f"gateway_endpoint_latency_{p}_seconds",
            f"Per endpoint, the {what} of the last hour's durations",
            "endpoint",
        )
        for _, p, what in LATENCIES
    ]
    for serial, gateway in gateways.items():
        view = views.get(gateway["label"])
        info.add_metric([serial], {"label": gateway["label"], "firmware": (view and view.firmware) or ""})
        _add(online, [serial], gateway["online"])
        _add(days, [serial], gateway["token_days_left"])
        for family, (key, _, _) in zip(latency, LATENCIES, strict=True):
            _add(family, [serial], gateway[key])
        if view is not None:
            _add(polled, [serial], view.last_poll)
            errors.add_metric([serial], view.errors)
        for path, endpoint in gateway["endpoints"].items():
            for family, (key, _, _) in zip(figures, ENDPOINT_FIGURES, strict=True):
                family.add_metric([serial, path], endpoint[key])
            for family, (key, _, _) in zip(by_endpoint, LATENCIES, strict=True):
                _add(family, [serial, path], endpoint[key])
    yield from (info, online, days, polled, errors, *figures, *latency, *by_endpoint)


def state_metrics(gateways: dict[str, Any], views: dict[str, GatewayView]) -> Iterator[Metric]:
    """The latest state's values per gateway: what is worth graphing."""
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
    for key, (name, kind, text) in STATE_METRICS.items():
        cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
        families[key] = cls(f"{PREFIX}_{name}", text, labels=["gateway"])
    for serial, gateway in gateways.items():
        view = views.get(gateway["label"])
        for key, value in (view.values if view else {}).items():
            families[key].add_metric([serial], value)
    yield from families.values()


def _gauge(name: str, text: str, *more: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", text, labels=["gateway", *more])


def _add(family: GaugeMetricFamily, labels: list[str], value: float | bool | None) -> None:
    """A sample only for a known value: missing means unknown, as on MQTT."""
    if value is not None:
        family.add_metric(labels, float(value))


def exposition(collector: Collector) -> bytes:
    """The text format of one scrape (a registry of its own: no process-wide state)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
