"""`/metrics`: the collector reads the real health snapshot at scrape time; read back with
prometheus_client's own parser."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families

from bridge.http.history import History
from bridge.http.metrics import BridgeCollector, exposition
from tests.support.sinks import make_snapshot
from tests.unit.admin.test_health import make_health
from tests.unit.controls.gateway import SERIAL


def scrape(collector: BridgeCollector) -> dict[str, tuple[str, dict[tuple[tuple[str, str], ...], float]]]:
    """name -> (type, {labels: value}) for every sample."""
    families: dict[str, tuple[str, dict[tuple[tuple[str, str], ...], float]]] = {}
    for family in text_string_to_metric_families(exposition(collector).decode()):
        for sample in family.samples:
            families.setdefault(sample.name, (family.type, {}))[1][tuple(sorted(sample.labels.items()))] = sample.value
    return families


def collector_for(tmp_path, *, fed: bool = True):
    health, publisher, gateway, clock, _ = make_health(tmp_path)
    history = History()
    watch = history.watch("gw")
    if fed:
        payload = {
            "production": {"power_w": 1714, "energy_lifetime_wh": 3165834},
            "net_consumption": {"power_w": -129, "energy_lifetime_wh": 4744550},
            "battery": {"soc_pct": 21},
        }
        diagnostics = {"errors": 4, "token_expires": 1.9e9}
        watch.snapshot(replace(make_snapshot(payload, diagnostics=diagnostics), polled_at=clock() - 5))
    return BridgeCollector(health.snapshot, history.views, clock), health, publisher, gateway, clock


def test_every_figure_of_the_health_snapshot_with_its_type_and_labels(tmp_path):
    collector, _, publisher, gateway, clock = collector_for(tmp_path)
    gateway.stats.record("/ivp/meters/readings", 0.2, 200)
    gateway.stats.record("/ivp/meters/readings", 0.3, 401)
    gateway.stats.record("/info", 0.05, 200)
    clock.advance(90)
    publisher.stats["published"], publisher.stats["not_queued"] = 40, 2
    metrics = scrape(collector)
    gw = (("gateway", SERIAL),)
    meters = (("endpoint", "/ivp/meters/readings"), ("gateway", SERIAL))
    assert metrics["envoy_bridge_uptime_seconds"] == ("gauge", {(): 90.0})
    assert metrics["envoy_bridge_mqtt_connected"] == ("gauge", {(): 0.0})
    assert metrics["envoy_bridge_mqtt_sent_total"] == ("counter", {(): 40.0})
    assert metrics["envoy_bridge_mqtt_dropped_total"] == ("counter", {(): 2.0})
    assert metrics["envoy_bridge_mqtt_reconnects_total"] == ("counter", {(): 0.0})
    assert metrics["envoy_bridge_gateway_info"] == (  # an info metric: a gauge of 1 in the text format
        "gauge",
        {(("firmware", "8.2.4382"), ("gateway", SERIAL), ("label", "gw")): 1.0},
    )
    assert metrics["envoy_bridge_gateway_online"] == ("gauge", {gw: 1.0})
    assert metrics["envoy_bridge_gateway_requests_last_hour"][1][meters] == 2.0
    assert metrics["envoy_bridge_gateway_failures_last_hour"][1][meters] == 1.0
    assert metrics["envoy_bridge_gateway_auth_refused_last_hour"] == (
        "gauge",
        {meters: 1.0, (("endpoint", "/info"), ("gateway", SERIAL)): 0.0},
    )
    assert 0.3 <= metrics["envoy_bridge_gateway_endpoint_latency_p99_seconds"][1][meters] < 0.36
    assert 0.2 <= metrics["envoy_bridge_gateway_latency_p50_seconds"][1][gw] < 0.24
    assert metrics["envoy_bridge_gateway_token_days_left"][1][gw] > 1000
    assert metrics["envoy_bridge_gateway_errors_total"] == ("counter", {gw: 4.0})
    assert metrics["envoy_bridge_gateway_last_poll_timestamp_seconds"][1][gw] == clock() - 95


def test_the_latest_state_values_gauges_and_lifetime_counters(tmp_path):
    metrics = scrape(collector_for(tmp_path)[0])
    gw = (("gateway", SERIAL),)
    assert metrics["envoy_bridge_production_power_watts"] == ("gauge", {gw: 1714.0})
    assert metrics["envoy_bridge_net_consumption_power_watts"] == ("gauge", {gw: -129.0})
    assert metrics["envoy_bridge_battery_soc_percent"] == ("gauge", {gw: 21.0})
    assert metrics["envoy_bridge_production_energy_wh_total"] == ("counter", {gw: 3165834.0})
    # Unknown is absent, never 0: no consumption CT here, and net's lifetime counter is not exported
    # (it goes down while exporting: neither a counter nor worth a gauge of its own).
    assert "envoy_bridge_consumption_power_watts" not in metrics
    assert "envoy_bridge_consumption_energy_wh_total" not in metrics


def test_a_gateway_not_yet_heard_from_has_only_what_is_known(tmp_path):
    collector, *_ = collector_for(tmp_path, fed=False)
    metrics = scrape(collector)
    assert metrics["envoy_bridge_gateway_info"][1] == {(("firmware", ""), ("gateway", SERIAL), ("label", "gw")): 1.0}
    assert "envoy_bridge_gateway_last_poll_timestamp_seconds" not in metrics
    assert "envoy_bridge_production_power_watts" not in metrics


def test_each_scrape_reads_the_snapshot_again(tmp_path):
    collector, _, _, gateway, _ = collector_for(tmp_path)
    assert "envoy_bridge_gateway_requests_last_hour" not in scrape(collector)  # no request yet
    gateway.stats.record("/info", 0.05, 200)
    after = scrape(collector)["envoy_bridge_gateway_requests_last_hour"][1]
    assert after == {(("endpoint", "/info"), ("gateway", SERIAL)): 1.0}
