"""The demo's live view, fed messages by hand: what it shows, and what it tolerates missing."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bridge.demo.view import LiveView, kw, summary, topic_pattern
from tests.support.mqtt import free_port

SERIAL = "999000000003"


def message(topic, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return SimpleNamespace(topic=topic, payload=data)


def test_live_view_block_shows_flows_grid_battery_and_traffic():
    ticks = iter(range(0, 10_000, 1))
    view = LiveView(
        "127.0.0.1",
        free_port(),
        "envoy",
        plain=False,
        broker_note="embedded broker",
        keys=True,
        clock=lambda: float(next(ticks)),
    )
    try:
        state = {
            "firmware": "8.2.4382",
            "production": {"power_w": 4210, "energy_today_wh": 14800},
            "consumption": {"power_w": 650},
            "grid": {"status": "on_grid", "import_power_w": 0, "export_power_w": 1200},
        }
        view._on_message(None, None, message(f"envoy/{SERIAL}/state", state))
        view._on_message(None, None, message(f"envoy/{SERIAL}/grid/status", b"off_grid"))
        view._on_message(None, None, message(f"envoy/{SERIAL}/battery/482235000159", {"soc_pct": 54, "power_w": -300}))
        view._on_message(None, None, message(f"envoy/{SERIAL}/battery/482235000166", {"soc_pct": 56, "power_w": -100}))
        view._on_message(None, None, message(f"homeassistant/sensor/{SERIAL}/production/config", {}))
        text = "\n".join(view.block())
    finally:
        view.close()
    assert "4.21 kW" in text and "650 W" in text and "export 1.20 kW" in text
    assert "OFF GRID" in text  # the plain grid/status topic wins: it is what flows react to
    assert "SOC 55 %" in text and "charging 400 W" in text
    assert "5 messages on 5 topics (1 discovery configs)" in text
    assert f"envoy/{SERIAL}/battery/+" in text and "/min" in text
    assert "mosquitto_sub -h 127.0.0.1" in text and "o outage" in text


def test_summary_tolerates_missing_keys():
    assert summary("1", {}) == "1: production -  consumption -  grid import -  export -  grid unknown"
    line = summary("1", {"production": {"power_w": 900}, "battery": {"soc_pct": 81.4, "power_w": 1500}})
    assert "production 900 W" in line and "battery 81 % (+1.50 kW)" in line
    assert summary("1", {"grid": "nonsense", "production": []}).startswith("1: production -")
    assert kw(None) == "-" and kw(True) == "-" and kw(-1234) == "-1.23 kW"
    assert topic_pattern("envoy/1/inverter/42") == "envoy/1/inverter/+"
    assert topic_pattern("envoy/1/enpower/42") == "envoy/1/enpower/+"
    assert topic_pattern("envoy/1/grid/status") == "envoy/1/grid/status"
