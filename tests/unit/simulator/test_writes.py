"""The living gateway's write endpoints through its source, on a fake clock: each write's answer,
what the GETs show after it, and its effect on the physics over simulated time (no sockets)."""

from __future__ import annotations

import json

import pytest

from bridge.simulator.controls import acb_serials
from bridge.simulator.writes import ENVOY_EID
from tests.unit.simulator.helpers import body, living

TARIFF, RELAY, DRY = "/admin/lib/tariff", "/ivp/ensemble/relay", "/ivp/ensemble/dry_contacts"
DRY_SETTINGS, ACB, GEN = "/ivp/ss/dry_contact_settings", "/admin/lib/acb_config", "/ivp/ss/gen_mode"
POWER = f"/ivp/mod/{ENVOY_EID}/mode/power"


def write(source, method, path, document):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    status, content_type, answer = source.write(method, path, raw)
    assert content_type == "application/json"
    return status, json.loads(answer)


def put_storage(source, **changes):
    """A read-modify-write of the freshest tariff, as the contract says a client does."""
    tariff = body(source, TARIFF)["tariff"]
    tariff["storage_settings"].update(changes)
    return write(source, "PUT", TARIFF, {"tariff": tariff})


def run(source, fake, hours, step_s=300):
    """Snapshots every `step_s` simulated seconds for `hours`."""
    snaps = []
    for _ in range(int(hours * 3600 / step_s)):
        fake.now += step_s
        snaps.append(source.world.snapshot())
    return snaps


# --- the tariff: storage mode, reserve, charge from grid ------------------------------------


def test_a_tariff_put_answers_the_whole_document_and_the_get_shows_it():
    source, _ = living("three_phase_battery")
    before = body(source, TARIFF)
    status, answer = put_storage(source, mode="backup", reserved_soc=42.5, charge_from_grid=True)
    assert status == 200 and answer == body(source, TARIFF)
    storage = answer["tariff"]["storage_settings"]
    assert (storage["mode"], storage["reserved_soc"], storage["charge_from_grid"]) == ("backup", 42.5, True)
    assert answer["schedule"]["batt_mode"] == "backup" and answer["schedule"]["reserved_soc"] == 42.5
    assert answer["tariff"]["seasons"] == before["tariff"]["seasons"]  # the rest is kept as sent
    assert body(source, "/ivp/ensemble/secctrl")["configured_backup_soc"] == 42  # rounded, as real
    assert write(source, "PUT", TARIFF + ".json", {"tariff": answer["tariff"]})[0] == 200  # MAT's alias


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        [1, 2],
        {"storage_settings": {"mode": "backup"}},  # the inner object without its wrapper (Homebridge)
        {"tariff": "backup"},
        {"tariff": {"currency": {"code": "EUR"}}},  # storage_settings missing
        {"tariff": {"storage_settings": {"mode": "backup"}}},  # partial
    ],
)
def test_a_tariff_put_without_a_whole_tariff_is_refused(document):
    source, _ = living("three_phase_battery")
    before = body(source, TARIFF)
    status, answer = write(source, "PUT", TARIFF, document)
    assert status == 400 and answer["message"]
    assert body(source, TARIFF) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"mode": "savings"},  # Home Assistant's name; the gateway's is economy
        {"mode": None},
        {"reserved_soc": "20"},
        {"reserved_soc": True},
        {"reserved_soc": 101},
        {"reserved_soc": 2},  # below the very-low limit (5)
        {"charge_from_grid": "false"},
    ],
)
def test_ill_typed_storage_settings_are_refused(changes):
    source, _ = living("three_phase_battery")
    before = body(source, TARIFF)
    assert put_storage(source, **changes)[0] == 400
    assert body(source, TARIFF) == before


def test_no_storage_settings_without_batteries():
    source, _ = living("metered")
    tariff = body(source, TARIFF)["tariff"]
    assert "storage_settings" not in tariff
    assert write(source, "PUT", TARIFF, {"tariff": tariff})[0] == 200
    tariff["storage_settings"] = {"mode": "backup"}
    assert write(source, "PUT", TARIFF, {"tariff": tariff})[0] == 400


def test_the_batteries_stop_discharging_at_the_new_reserve():
    source, fake = living("three_phase_battery", start="20:00")  # evening: the house draws on them
    soc = source.world.snapshot().soc
    reserve = round(soc - 15)
    assert put_storage(source, reserved_soc=float(reserve))[0] == 200
    snaps = run(source, fake, hours=8)
    assert snaps[0].power.battery > 0  # discharging towards it
    assert min(s.soc for s in snaps) == pytest.approx(reserve, abs=0.1)
    assert snaps[-1].power.battery == 0 and snaps[-1].power.net == pytest.approx(snaps[-1].power.load)
    source.write("POST", "/ivp/livedata/stream", b'{"enable": 1}')  # else the live data stay frozen
    assert body(source, "/ivp/livedata/status")["meters"]["backup_soc"] == reserve


def test_backup_mode_holds_the_charge():
    source, fake = living("three_phase_battery", start="20:00")
    soc = source.world.snapshot().soc
    assert put_storage(source, mode="backup")[0] == 200
    snaps = run(source, fake, hours=8)
    assert all(s.power.battery <= 0 for s in snaps)  # never discharging to the house on grid
    assert snaps[-1].soc == pytest.approx(soc, abs=0.01)
    source.world.set_grid(False)  # in an outage they carry the house
    assert source.world.snapshot().power.battery > 0


def test_charge_from_grid_tops_the_batteries_up():
    source, fake = living("three_phase_battery", start="20:00")
    assert put_storage(source, mode="backup", charge_from_grid=True)[0] == 200
    first = run(source, fake, hours=0.25)[-1]
    assert first.power.battery < 0 and first.power.net > first.power.load  # charging from the grid
    assert run(source, fake, hours=4)[-1].soc == pytest.approx(100, abs=0.01)


def test_savings_mode_discharges_only_in_the_dear_hours():
    source, fake = living("three_phase_battery", start="23:30")
    assert put_storage(source, mode="economy")[0] == 200
    night = run(source, fake, hours=6)  # to 05:30: the cheap period
    assert all(s.power.battery <= 0 for s in night)
    source, fake = living("three_phase_battery", start="20:00")
    assert put_storage(source, mode="economy")[0] == 200
    assert run(source, fake, hours=0.5)[-1].power.battery > 0


# --- the System Controller's mains relay -----------------------------------------------------


def test_opening_the_mains_relay_islands_the_house_and_closing_reconnects():
    source, _ = living("three_phase_battery", start="20:00")
    status, answer = write(source, "POST", RELAY, {"mains_admin_state": "open"})
    assert status == 200 and answer["mains_admin_state"] == "open" and answer["mains_oper_state"] == "open"
    assert body(source, RELAY) == answer
    enpower = body(source, "/ivp/ensemble/inventory")[-1]["devices"][0]
    assert (enpower["mains_admin_state"], enpower["mains_oper_state"]) == ("open", "open")
    source.write("POST", "/ivp/livedata/stream", b'{"enable": 1}')
    assert body(source, "/ivp/livedata/status")["meters"]["main_relay_state"] == 0
    islanded = source.world.snapshot().power
    assert islanded.net == 0 and islanded.battery > 0
    source.world.set_grid(True)  # the utility coming back does not close a relay opened on command
    assert source.world.snapshot().power.net == 0
    assert write(source, "POST", RELAY, {"mains_admin_state": "closed"})[1]["mains_oper_state"] == "closed"
    assert body(source, "/ivp/livedata/status")["meters"]["main_relay_state"] == 1


@pytest.mark.parametrize("document", [{"mains_admin_state": "OPEN"}, {"mains_admin_state": True}, {}, b"[]"])
def test_a_bad_mains_body_is_refused(document):
    source, _ = living("three_phase_battery")
    assert write(source, "POST", RELAY, document)[0] == 400
    assert body(source, RELAY)["mains_admin_state"] == "closed"


def test_no_mains_relay_to_switch_without_a_system_controller():
    source, _ = living("ac_battery")
    assert write(source, "POST", RELAY, {"mains_admin_state": "open"})[0] == 400
    assert source.world.on_grid


# --- the dry-contact relays ---------------------------------------------------------------------


def statuses(source):
    return {r["id"]: r["status"] for r in body(source, DRY)["dry_contacts"]}


def test_opening_a_relay_sheds_its_load_and_closing_restores_it():
    source, _ = living("three_phase_battery")
    share = source.scenario.relay_loads["NC1"]
    assert set(statuses(source).values()) == {"closed"}
    full = source.world.demand(source.world.snapshot().t)
    status, answer = write(source, "POST", DRY, {"dry_contacts": {"id": "NC1", "status": "open"}})
    assert status == 200 and answer == body(source, DRY) and statuses(source)["NC1"] == "open"
    assert source.world.snapshot().power.load == pytest.approx(full * (1 - share))
    write(source, "POST", DRY, {"dry_contacts": {"id": "NC1", "status": "closed"}})
    assert source.world.snapshot().power.load == pytest.approx(full)


@pytest.mark.parametrize(
    "document",
    [
        {"dry_contacts": {"id": "NC9", "status": "open"}},
        {"dry_contacts": [{"id": "NC1", "status": "open"}]},  # a list, as GET answers: not what POST takes
        {"dry_contacts": {"id": "NC1", "status": "off"}},
    ],
)
def test_a_bad_relay_command_is_refused(document):
    source, _ = living("three_phase_battery")
    assert write(source, "POST", DRY, document)[0] == 400
    assert set(statuses(source).values()) == {"closed"}


def settings_of(source, rid):
    return next(r for r in body(source, DRY_SETTINGS)["dry_contacts"] if r["id"] == rid)


def test_relay_settings_are_replaced_whole_and_a_partial_object_is_refused():
    source, _ = living("three_phase_battery")
    relay = settings_of(source, "NO1") | {"mode": "soc", "soc_low": 25.0, "load_name": "Pool pump"}
    relay["manual_override"] = True  # pyenphase sends it as a bool; the gateway keeps the string
    status, answer = write(source, "POST", DRY_SETTINGS, {"dry_contacts": relay})
    assert status == 200 and answer == body(source, DRY_SETTINGS)
    assert settings_of(source, "NO1") == relay | {"manual_override": "true"}
    partial = {"id": "NO1", "mode": "manual"}
    assert write(source, "POST", DRY_SETTINGS, {"dry_contacts": partial})[0] == 400
    bad = relay | {"grid_action": "off"}
    assert write(source, "POST", DRY_SETTINGS, {"dry_contacts": bad})[0] == 400
    assert settings_of(source, "NO1")["mode"] == "soc"


def test_a_relay_set_to_shed_off_grid_opens_in_an_outage():
    source, _ = living("three_phase_battery", start="20:00")
    relay = settings_of(source, "NC2") | {"micro_grid_action": "shed"}
    assert write(source, "POST", DRY_SETTINGS, {"dry_contacts": relay})[0] == 200
    assert statuses(source)["NC2"] == "closed"
    source.world.set_grid(False)
    assert statuses(source)["NC2"] == "open"
    t = source.world.snapshot().t
    shed = source.world.demand(t) * (1 - source.scenario.relay_loads["NC2"])
    power = source.world.snapshot().power
    assert power.load <= shed + 1e-6  # less still when the batteries cannot carry even that
    source.world.set_grid(True)
    assert statuses(source)["NC2"] == "closed"


# --- AC Batteries, the generator, production ---------------------------------------------------


def test_an_ac_battery_asleep_neither_charges_nor_discharges():
    source, fake = living("ac_battery", start="20:00")
    serials = acb_serials(source.scenario)
    assert body(source, ACB) == {"acb_sleep": []}
    discharging = source.world.snapshot().power.battery
    window = [{"serial_num": serial, "sleep_min_soc": 95, "sleep_max_soc": 100} for serial in serials[:2]]
    status, answer = write(source, "PUT", ACB, {"acb_sleep": window})
    assert status == 200 and answer == {"acb_sleep": window} == body(source, ACB)
    assert source.world.snapshot().power.battery == pytest.approx(discharging / 2)  # two of four asleep
    everyone = [{"serial_num": serial, "sleep_min_soc": 0, "sleep_max_soc": 5} for serial in serials]
    assert write(source, "PUT", ACB, {"acb_sleep": everyone})[0] == 200
    soc = source.world.snapshot().soc
    assert all(s.power.battery == 0 for s in run(source, fake, hours=2))
    assert source.world.snapshot().soc == soc
    wake = {"acb_sleep": [{"serial_num": serial} for serial in serials]}
    assert write(source, "DELETE", ACB, wake) == (200, {"message": "success"})
    assert body(source, ACB) == {"acb_sleep": []} and source.world.snapshot().power.battery > 0


@pytest.mark.parametrize(
    "entry",
    [
        {"serial_num": "000000000000", "sleep_min_soc": 95, "sleep_max_soc": 100},  # not one of ours
        {"sleep_min_soc": 95, "sleep_max_soc": 100},
        {"serial_num": "OURS", "sleep_min_soc": 100, "sleep_max_soc": 95},
        {"serial_num": "OURS", "sleep_min_soc": 95.0, "sleep_max_soc": 100},
        {"serial_num": "OURS"},  # a wake body is not a sleep request
    ],
)
def test_a_bad_acb_request_is_refused(entry):
    source, _ = living("ac_battery")
    if entry.get("serial_num") == "OURS":
        entry = entry | {"serial_num": acb_serials(source.scenario)[0]}
    assert write(source, "PUT", ACB, {"acb_sleep": [entry]})[0] == 400
    assert write(source, "PUT", ACB, {"acb_sleep": []})[0] == 400
    assert body(source, ACB) == {"acb_sleep": []}


def test_acb_config_is_not_served_without_ac_batteries():
    source, _ = living("three_phase_battery")
    assert source.answer(ACB, "")[0] == 404
    assert source.write("PUT", ACB, b'{"acb_sleep": []}')[0] == 404


def test_the_generator_mode_is_set_and_read_back():
    source, _ = living("three_phase_battery", generator=True)
    assert body(source, GEN) == {"gen_cmd": "off", "last_updated_by": "ITK"}
    for command in ("on", "auto", "off"):
        status, answer = write(source, "POST", GEN, {"gen_cmd": command})
        assert status == 200 and answer["gen_cmd"] == command == body(source, GEN)["gen_cmd"]
    assert write(source, "POST", GEN, {"gen_cmd": "ON"})[0] == 400
    without, _ = living("three_phase_battery")
    assert without.answer(GEN, "")[0] == 404 and without.write("POST", GEN, b'{"gen_cmd": "on"}')[0] == 404


def test_production_forced_off_makes_production_zero():
    source, fake = living("metered", start="12:00")
    assert source.installer_only(POWER) and not source.installer_only(TARIFF)
    assert body(source, POWER) == {"powerForcedOff": False}
    assert source.world.snapshot().power.production > 0
    assert write(source, "PUT", POWER, {"length": 1, "arr": [1]}) == (200, {"powerForcedOff": True})
    assert body(source, POWER) == {"powerForcedOff": True}
    snaps = run(source, fake, hours=1)
    assert all(s.power.production == 0 for s in snaps) and snaps[-1].power.net == pytest.approx(snaps[-1].power.load)
    assert body(source, "/api/v1/production")["wattsNow"] == 0
    assert write(source, "PUT", POWER, {"length": 1, "arr": [0]})[1] == {"powerForcedOff": False}
    assert source.world.snapshot().power.production > 0


@pytest.mark.parametrize("document", [{"length": 1, "arr": [2]}, {"arr": [1]}, {"length": 1, "arr": [True]}, b"{"])
def test_a_bad_production_body_is_refused(document):
    source, _ = living("metered", start="12:00")
    assert write(source, "PUT", POWER, document)[0] == 400
    assert body(source, POWER) == {"powerForcedOff": False}


def test_unknown_writes_and_methods_answer_405_and_other_eids_404():
    source, _ = living("three_phase_battery")
    assert source.write("POST", TARIFF, b"{}")[0] == 405  # the tariff is PUT
    assert source.write("PUT", RELAY, b"{}")[0] == 405
    assert source.write("POST", "/api/v1/production", b"")[0] == 405
    assert source.write("DELETE", POWER, b"")[0] == 405
    assert source.write("PUT", "/ivp/mod/123/mode/power", b'{"length":1,"arr":[1]}')[0] == 404
