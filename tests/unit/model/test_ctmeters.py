"""The CT meters of every real capture that has CT readings: the published aggregate voltage is
the gateway's own `voltage` field (what Home Assistant's integration and every other one show),
read here from the capture's raw JSON, not through the bridge's parser."""

import json

import pytest

from tests.support.captures import SKIP_REASON, capture_names, load_capture

METERS, READINGS = "/ivp/meters", "/ivp/meters/readings"


def with_readings() -> list:
    """The captures whose gateway answered /ivp/meters/readings with at least one reading."""
    names = [n for n in capture_names() if json.loads(load_capture(n).bodies.get(READINGS, b"[]"))]
    return names or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]


def gateway_aggregates(capture) -> dict[str, float]:
    """Payload key -> the capture's aggregate `voltage` of each enabled CT (first per type)."""
    readings = {r["eid"]: r for r in json.loads(capture.bodies[READINGS])}
    found: dict[str, float] = {}
    for meter in json.loads(capture.bodies[METERS]):
        key = meter["measurementType"].replace("-", "_")
        if meter["state"] == "enabled" and meter["eid"] in readings and key not in found:
            found[key] = readings[meter["eid"]]["voltage"]
    return found


@pytest.mark.parametrize("name", with_readings())
def test_published_aggregate_voltage_is_the_gateways_own(name):
    capture = load_capture(name)
    meters = capture.state().as_payload().get("meters", {})
    wanted = gateway_aggregates(capture)
    assert set(meters) == set(wanted), "one published meter per enabled CT"
    for key, meter in meters.items():
        assert meter["voltage_v"] == wanted[key], f"{key}: the gateway says {wanted[key]} V"


def test_the_captures_cover_split_phase_three_phase_and_a_noisy_unwired_phase():
    """The captures cover the cases of issue 13: split phase (≈ 240 V line to line), a
    three-phase sum, and a single-phase site whose CT is configured for three phases."""
    if not capture_names():
        pytest.skip(SKIP_REASON)
    volts = {name: gateway_aggregates(load_capture(name)) for name in ("8.3.1598_collar", "8.3.5167_3rd-pv")}
    assert volts["8.3.1598_collar"]["production"] == 240.537
    assert volts["8.3.5167_3rd-pv"]["production"] == 694.641
    published = load_capture("7.6.175_with_cts_3phase").state().as_payload()["meters"]["production"]
    assert published["voltage_v"] == 235.236
    assert published["phases"]["l2"]["voltage_v"] == 6.124
