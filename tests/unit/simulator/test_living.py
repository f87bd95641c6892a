"""The living gateway's endpoint bodies, read by the bridge's own parsers: no sockets."""

from __future__ import annotations

import pytest

from bridge import model
from tests.unit.simulator.helpers import SCENARIOS, body, living


def bridge_state(source):
    info = model.parse_info(body(source, "/info"))
    parsed = {}
    for endpoint in model.CANDIDATE_ENDPOINTS:
        path, _, query = endpoint.partition("?")
        status, _, raw = source.answer(path, query)
        if status == 200:
            try:
                parsed[endpoint] = model.ENDPOINTS[endpoint](model.decode_json(endpoint, raw))
            except Exception:  # e.g. [] for absent meters: the bridge skips those too
                pass
    active = model.select_endpoints(info, parsed)
    return model.build_state(info, {k: v for k, v in parsed.items() if k in active}, 0).as_payload()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_bridge_parses_every_scenario(name):
    source, _ = living(name)
    state = bridge_state(source)
    assert state["serial"] == source.scenario.serial and state["production"]["power_w"] > 0
    if name == "standard":
        assert "consumption" not in state and "meters" not in state
        return
    assert state["consumption"]["power_w"] > 0
    assert set(state["meters"]) >= {"production", "net_consumption"}
    phases = state["meters"]["net_consumption"].get("phases", {})
    assert len(phases) == (source.scenario.phases if source.scenario.phases > 1 else 0)
    if name == "three_phase_battery":
        assert state["grid"]["status"] == "on_grid" and "storage" in state["meters"]
    if name == "ac_battery":
        assert state["acb"]["count"] == 4 and "battery" not in state


def test_metered_bodies_agree_with_each_other():
    source, _ = living("metered", start="13:00")
    report = body(source, "/production.json", "details=1")
    eim, (total, net) = report["production"][1], report["consumption"]
    assert net["wNow"] == pytest.approx(total["wNow"] - eim["wNow"], abs=0.01)
    assert net["whLifetime"] == pytest.approx(total["whLifetime"] - eim["whLifetime"], abs=0.01)
    assert len(eim["lines"]) == 2 and "lines" not in body(source, "/production")["production"][1]
    pairs = zip(body(source, "/ivp/meters"), body(source, "/ivp/meters/readings"), strict=True)
    readings = {m["eid"]: r for m, r in pairs}
    grid = readings[704643584]
    assert grid["actEnergyDlvd"] - grid["actEnergyRcvd"] == pytest.approx(net["whLifetime"], abs=0.01)
    assert len(grid["channels"]) == 3 and grid["channels"][2]["voltage"] == 0  # unused: zeros
    assert grid["voltage"] == pytest.approx(sum(ch["voltage"] for ch in grid["channels"]), abs=0.01)
    inverters = body(source, "/api/v1/production/inverters")
    assert sum(i["lastReportWatts"] for i in inverters) == report["production"][0]["wNow"]
    assert body(source, "/api/v1/production")["wattHoursLifetime"] == round(eim["whLifetime"])


def test_battery_bodies():
    source, _ = living("three_phase_battery", start="18:30")
    inventory = {g["type"]: g["devices"] for g in body(source, "/ivp/ensemble/inventory")}
    assert len(inventory["ENCHARGE"]) == 3 and len(inventory["ENPOWER"]) == 1
    assert inventory["ENPOWER"][0]["mains_oper_state"] == "closed"
    power = body(source, "/ivp/ensemble/power")
    assert list(power) == ["devices:"] and len(power["devices:"]) == 3  # the colon is real
    secctrl = body(source, "/ivp/ensemble/secctrl")
    assert secctrl["ENC_agg_soc"] == inventory["ENCHARGE"][0]["percentFull"]
    assert secctrl["Max_energy"] == 15000 and secctrl["configured_backup_soc"] == 20
    readings = {r["eid"]: r for r in body(source, "/ivp/meters/readings")}
    storage_w = readings[704643840]["activePower"]
    assert sum(d["real_power_mw"] for d in power["devices:"]) / 1000 == pytest.approx(storage_w, abs=1)
    assert body(source, "/admin/lib/tariff")["tariff"]["storage_settings"]["reserved_soc"] == 20
    assert body(source, "/ivp/ensemble/status")["relay"]["mains_oper_state"] == "closed"
    source.world.set_grid(False)
    assert body(source, "/ivp/ensemble/relay")["mains_oper_state"] == "open"
    enpower = next(g for g in body(source, "/ivp/ensemble/inventory") if g["type"] == "ENPOWER")["devices"][0]
    assert (enpower["mains_oper_state"], enpower["mains_admin_state"]) == ("open", "closed")
    assert bridge_state(source)["grid"] == {
        "status": "off_grid",
        "import_power_w": 0,
        "export_power_w": 0,
        **{k: v for k, v in bridge_state(source)["grid"].items() if k.startswith("energy")},
    }


def test_standard_gateway_has_no_meters_and_no_ensemble():
    source, _ = living("standard")
    assert body(source, "/ivp/meters") == [] and body(source, "/ivp/meters/readings") == []
    assert body(source, "/ivp/ensemble/inventory") == []
    assert body(source, "/ivp/ensemble/power") == {"devices:": []}
    assert "storage_settings" not in body(source, "/admin/lib/tariff")["tariff"]
    assert b"<imeter>false</imeter>" in body(source, "/info")
    data = body(source, "/ivp/pdm/device_data")
    assert data["deviceCount"] == 16 and data["deviceDataLimit"] == 50
    assert source.answer("/nope", "")[0] == 404
    home = body(source, "/home")
    assert home["comm"]["pcu"]["num"] == 16 and home["current_time"] == "12:00"


def test_info_follows_the_firmware_and_the_clock():
    source, fake = living("metered")
    fake.now += 90
    source.firmware = "8.3.5167"  # what the firmware_update event does
    info = model.parse_info(body(source, "/info"))
    assert info.firmware == "8.3.5167" and info.serial == source.serial == "999000000001"
    assert f"<time>{int(source.clock.now())}</time>".encode() in body(source, "/info")


def test_settings_and_home_pages_with_batteries_and_a_controller():
    source, _ = living("three_phase_battery", start="07:45")
    contacts = body(source, "/ivp/ensemble/dry_contacts")["dry_contacts"]
    settings = body(source, "/ivp/ss/dry_contact_settings")["dry_contacts"]
    assert [c["id"] for c in contacts] == [c["id"] for c in settings] == ["NC1", "NC2", "NO1", "NO2"]
    assert [c["priority"] for c in settings] == [1, 2, 3, 4]
    home = body(source, "/home.json")
    assert home == body(source, "/home") and home["current_time"] == "07:45"
    assert home["comm"]["encharge"][0]["num"] == 3 and home["comm"]["nsrb"]["num"] == 1
    assert home["comm"]["num"] == 24 + 3 + 1  # microinverters, batteries, the System Controller
    storage = body(source, "/admin/lib/tariff")["tariff"]["storage_settings"]
    assert (storage["reserved_soc"], storage["very_low_soc"]) == (20.0, 5)


def test_ac_batteries_are_not_in_the_ensemble():
    source, _ = living("ac_battery", start="10:00")
    snap = source.snapshot()
    storage = body(source, "/production.json")["storage"]
    assert storage == [
        {
            "type": "acb",
            "activeCount": 4,
            "readingTime": int(snap.t),
            "wNow": round(snap.power.battery),
            "whNow": round(snap.energy_wh),
            "state": "charging",  # a sunny morning
            "percentFull": round(snap.soc),
        }
    ]
    assert body(source, "/ivp/ensemble/inventory") == [] and body(source, "/ivp/ensemble/power") == {"devices:": []}
    secctrl = body(source, "/ivp/ensemble/secctrl")
    assert (secctrl["ACB_agg_soc"], secctrl["ACB_agg_energy"]) == (round(snap.soc), round(snap.energy_wh))
    assert secctrl["ENC_agg_soc"] == 0 and secctrl["Max_energy"] == 4800 and secctrl["agg_soc"] == round(snap.soc)
    comm = body(source, "/home")["comm"]
    assert comm["acb"]["num"] == 4 and comm["encharge"][0]["num"] == 0 and comm["num"] == 14 + 4
    assert not source.scenario.can_island  # AC Batteries give no backup
