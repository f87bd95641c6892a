"""Scenario events and the conditions they leave, on a fake gateway and a fake clock: no sockets."""

from __future__ import annotations

import json
from email.message import Message

import pytest

from bridge.simulator.events import MAX_HANG_S, Director
from bridge.simulator.httpd import Request, Response
from bridge.simulator.schedule import MALFORMED_KINDS
from tests.unit.simulator.helpers import FakeGateway


def request(path: str = "/api/v1/production") -> Request:
    return Request("GET", path, "", Message(), b"", connection=None)


def status_now(director: Director, path: str = "/api/v1/production") -> int | None:
    fault = director.before(request(path))
    return fault.status if fault else None


def test_event_names_and_their_parameters_are_checked():
    director = Director(FakeGateway())
    assert {"grid_outage", "grid_restore", "reboot", "slow", "nightly", "malformed", "clear"} <= set(director.names)
    with pytest.raises(ValueError, match="unknown event 'meteor'; events: clear, cloud_down"):
        director.trigger("meteor")
    with pytest.raises(ValueError, match="it takes refuse_s, unavailable_s"):
        director.trigger("reboot", seconds=3)
    with pytest.raises(ValueError, match="it takes none"):
        director.schedule("cloud_down:now=1@+5s")
    assert director.history == []


def test_a_reboot_refuses_then_boots_then_answers():
    gateway = FakeGateway()
    director = Director(gateway)
    director.trigger("reboot", refuse_s=60, unavailable_s=120)
    assert gateway.calls == ["revoke_sessions", "stop_envoy"] and director.envoy_down
    assert director.describe() == ["rebooting: connections refused"]
    gateway.time.now += 59
    director.tick()
    assert director.envoy_down and "start_envoy" not in gateway.calls
    gateway.time.now += 2
    director.tick()
    assert gateway.calls[-1] == "start_envoy" and not director.envoy_down
    assert status_now(director) == 503 and director.describe() == ["booting: 503 Service Unavailable"]
    gateway.time.now += 120
    assert status_now(director) is None and director.describe() == []


def test_an_outage_takes_a_gateway_without_batteries_down_with_the_grid():
    gateway = FakeGateway("metered")
    director = Director(gateway)
    director.trigger("grid_outage")
    assert gateway.calls == ["revoke_sessions", "stop_envoy"] and director.envoy_down
    director.trigger("grid_restore", boot_s=30)
    assert gateway.calls[-1] == "start_envoy" and status_now(director) == 503
    assert gateway.source.world.grid_up


def test_an_outage_with_batteries_and_a_controller_keeps_the_gateway_up():
    gateway = FakeGateway("three_phase_battery")
    director = Director(gateway)
    director.trigger("grid_outage")
    assert gateway.calls == [] and not director.envoy_down and not gateway.source.world.grid_up
    director.trigger("grid_restore")
    assert gateway.calls == [] and status_now(director) is None  # no reboot: it never went dark


def test_grid_and_firmware_events_need_a_living_scenario():
    director = Director(FakeGateway(None))
    with pytest.raises(ValueError, match=r"this event needs a living scenario \(Simulator\(scenario=...\)\)"):
        director.trigger("grid_outage")
    with pytest.raises(ValueError, match="firmware_update needs a living scenario"):
        director.trigger("firmware_update")
    director.trigger("cloud_down")  # the rest works on a capture too
    assert director.sim.cloud_mode == "down"


def test_firmware_updates_go_to_the_planned_version_then_count_up():
    gateway = FakeGateway("three_phase_battery")
    director = Director(gateway)
    versions = []
    for _ in range(2):
        director.trigger("firmware_update")
        versions.append(gateway.source.firmware)
    director.trigger("firmware_update", version="8.3.rc")
    director.trigger("firmware_update")
    assert versions == ["8.2.4401", "8.2.4402"] and gateway.source.firmware == "8.3.rc1"
    assert gateway.calls.count("revoke_sessions") == 4 and "stop_envoy" not in gateway.calls
    director.trigger("firmware_update", reboot_s=30)
    assert gateway.calls[-1] == "stop_envoy"


def test_malformed_answers_rotate_through_the_kinds_and_spare_the_rest():
    director = Director(FakeGateway())
    director.trigger("malformed", count=len(MALFORMED_KINDS) + 1)
    good = Response(200, b'{"wattsNow": 5}', "application/json")
    assert director.after(request(), Response(200, b"<xml/>", "text/xml")).body == b"<xml/>"
    assert director.after(request(), Response(401, b"{}", "application/json")).body == b"{}"
    bodies = [director.after(request(), good) for _ in range(len(MALFORMED_KINDS) + 2)]
    assert [reply.content_type for reply in bodies[:2]] == ["application/json", "text/html"]
    assert bodies[2].body == b"" and bodies[-1] is good and bodies[-2] is not good
    with pytest.raises(ValueError, match="malformed kind must be one of truncated, html"):
        director.trigger("malformed", kind="sideways")


def test_slow_answers_end_after_their_duration():
    gateway = FakeGateway()
    director = Director(gateway)
    director.trigger("slow", delay_s=2.5, duration_s=10)
    fault = director.before(request())
    assert fault is not None and fault.delay_s == 2.5 and fault.status is None
    gateway.time.now += 10
    assert director.before(request()) is None


def test_the_nightly_hiccup_at_23_simulated():
    gateway = FakeGateway("metered", start="23:02")
    director = Director(gateway)
    assert status_now(director) == 503
    hang = director.before(request("/ivp/pdm/device_data"))
    assert hang is not None and hang.drop and 0 < hang.delay_s <= MAX_HANG_S
    assert director.describe() == ["nightly reset (23:00): 503, device_data hangs"]
    gateway.time.now += 4 * 60
    assert status_now(director) is None
    director.trigger("nightly", minutes=1)  # on demand, at any hour
    assert status_now(director) == 503


def test_no_nightly_hiccup_when_the_scenario_has_none():
    director = Director(FakeGateway("metered", start="23:02", nightly_hiccup_minutes=0.0))
    assert status_now(director) is None


def test_scheduled_events_fire_in_order_and_clear_ends_every_condition():
    gateway = FakeGateway("three_phase_battery", start="11:58")
    director = Director(gateway)
    added = director.schedule("grid_outage@12:00,slow:delay_s=1@+30s,cloud_down")
    assert [entry.name for entry in added] == ["grid_outage", "slow"] and gateway.cloud_mode == "down"
    gateway.time.now += 3 * 60
    director.tick()
    assert [name for _, name in director.history] == ["cloud_down", "grid_outage", "slow"]
    director.trigger("reboot", refuse_s=600)
    director.trigger("clear")
    assert gateway.calls[-1] == "start_envoy" and director.before(request()) is None
    assert not gateway.source.world.grid_up  # clear leaves the outage: restore ends that


def storage_of(gateway: FakeGateway) -> dict[str, object]:
    status, _, raw = gateway.source.answer("/admin/lib/tariff", "")
    assert status == 200
    tariff = json.loads(raw)["tariff"]
    return dict(tariff["storage_settings"], tariff_date=tariff["date"])


def put_storage(gateway: FakeGateway, **changes: object) -> None:
    _, _, raw = gateway.source.answer("/admin/lib/tariff", "")
    tariff = json.loads(raw)["tariff"]
    tariff["storage_settings"].update(changes)
    assert gateway.source.write("PUT", "/admin/lib/tariff", json.dumps({"tariff": tariff}).encode())[0] == 200


def test_the_cloud_reverts_a_local_storage_mode_at_once():
    gateway = FakeGateway("three_phase_battery")
    director = Director(gateway)
    configured = storage_of(gateway)
    put_storage(gateway, mode="backup", reserved_soc=50.0, charge_from_grid=True)
    gateway.time.now += 90
    director.trigger("storage_mode_revert")
    now = storage_of(gateway)
    assert (now["mode"], now["reserved_soc"], now["charge_from_grid"]) == ("self-consumption", 20.0, False)
    assert now["tariff_date"] != configured["tariff_date"]  # the sign of a cloud push (reference §1.1.5)
    assert director.history[-1][1] == "storage_mode_revert"


def test_a_reverting_cloud_undoes_every_local_write_after_its_delay_until_cleared():
    gateway = FakeGateway("three_phase_battery")
    director = Director(gateway)
    director.schedule("storage_mode_revert:after_s=60")
    put_storage(gateway, mode="backup")
    gateway.time.now += 59
    director.tick()
    assert storage_of(gateway)["mode"] == "backup"
    gateway.time.now += 1
    director.tick()
    assert storage_of(gateway)["mode"] == "self-consumption"
    put_storage(gateway, charge_from_grid=False)  # what the cloud has already: nothing to revert
    gateway.time.now += 120
    director.tick()
    assert [name for _, name in director.history].count("storage_mode_revert") == 2  # arming, one revert
    director.trigger("clear")
    put_storage(gateway, mode="economy")
    gateway.time.now += 120
    director.tick()
    assert storage_of(gateway)["mode"] == "economy"


def test_storage_mode_revert_needs_a_living_scenario_and_a_sane_delay():
    with pytest.raises(ValueError, match="after_s"):
        Director(FakeGateway("three_phase_battery")).schedule("storage_mode_revert:after_s=-1@+5s")
    with pytest.raises(ValueError, match="living scenario"):
        Director(FakeGateway(None)).trigger("storage_mode_revert")
