"""The status page's history: one point per 10 s for the last hour, the latest values, the last error."""

from __future__ import annotations

from dataclasses import replace

from bridge.http.history import GatewayHistory, History, state_values
from bridge.model.snapshot import Availability
from tests.support.clock import FakeClock
from tests.support.sinks import SERIAL, make_snapshot

T0 = 1_700_000_000.0


def cycle(history: GatewayHistory, at: float, production: float | None = 1200.0, consumption: float | None = 800.0):
    payload = {"schema": 1, "serial": SERIAL}
    if production is not None:
        payload["production"] = {"power_w": production, "energy_lifetime_wh": 5_000_000}
    if consumption is not None:
        payload["consumption"] = {"power_w": consumption}
    diagnostics = {"errors": 3, "token_expires": 1_900_000_000, "token_renewal_error": None}
    history.snapshot(replace(make_snapshot(payload, diagnostics=diagnostics), polled_at=at))


def test_one_point_per_slot_the_newest_reading_wins():
    history = GatewayHistory("gw")
    cycle(history, T0, 100)
    cycle(history, T0 + 4, 150)  # the same 10 s slot: replaces
    cycle(history, T0 + 10, 200)
    cycle(history, T0 + 9, 999)  # older than the last point (a clock step): dropped
    points = history.view(T0 + 10).points
    assert [(p.time, p.production_w) for p in points] == [(T0 + 4, 150), (T0 + 10, 200)]


def test_the_ring_keeps_the_last_hour_and_is_bounded():
    history = GatewayHistory("gw")
    for second in range(0, 2 * 3600, 5):
        cycle(history, T0 + second)
    now = T0 + 2 * 3600
    points = history.view(now).points
    assert len(history._points) == 360 and len(points) <= 360
    assert min(p.time for p in points) > now - 3600
    assert history.view(now + 7200).points == ()  # nothing read for two hours: nothing drawn


def test_the_view_holds_the_latest_values_and_the_diagnostics():
    history = GatewayHistory("gw")
    cycle(history, T0, production=1200, consumption=None)
    view = history.view(T0)
    assert (view.label, view.serial, view.firmware, view.last_poll) == ("gw", SERIAL, "8.2.4382", T0)
    assert (view.errors, view.token_expires, view.token_renewal_error) == (3, 1.9e9, None)
    assert view.values == {"production_power_w": 1200.0, "production_energy_wh": 5_000_000.0}
    assert view.points[0].consumption_w is None  # missing means unknown, never 0


def test_state_values_take_numbers_only():
    payload = {"production": {"power_w": True}, "consumption": {"power_w": "7"}, "battery": {"soc_pct": 42}}
    assert state_values(payload) == {"battery_soc_pct": 42.0}
    assert state_values({"production": None}) == {}


def test_the_last_error_is_why_the_gateway_went_offline_and_stays_after_it_is_back():
    clock = FakeClock(T0 + 50)
    history = GatewayHistory("gw", clock=clock)
    history.availability(Availability("gw", False, "gateway unreachable: connection refused"))
    assert history.view(T0).serial == "gw"  # known by its label until it answers
    history.availability(Availability(SERIAL, True))
    cycle(history, T0 + 60)
    view = history.view(T0 + 60)
    assert view.last_error is not None and view.last_error.text == "gateway unreachable: connection refused"
    assert view.last_error.time == T0 + 50 and view.serial == SERIAL


def test_every_gateway_by_its_label():
    history = History()
    first, second = history.watch("a"), history.watch("b")
    cycle(first, T0)
    views = history.views(T0)
    assert list(views) == ["a", "b"] and views["a"].firmware == "8.2.4382" and views["b"].firmware is None
    assert second.view(T0).points == ()
