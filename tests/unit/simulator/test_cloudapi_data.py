"""The fake Enlighten API v4's data against the living scenario's own counters, on a fake clock:
the summary as of the last quarter hour, telemetry intervals that add up to the counters, the
request window, a gateway gone offline."""

from __future__ import annotations

import pytest

from bridge.simulator.cloudapi_data import SystemData
from bridge.simulator.cloudapi_replies import ApiError
from tests.unit.simulator.helpers import living

SYSTEM = 1000001
HOUR = 3600


def system(name: str = "three_phase_battery", start: str = "12:00"):
    source, fake = living(name, start=start)
    return SystemData(source.scenario, source.world, source.clock), source.world, fake


def refusal(call, *args) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value.status, caught.value.details


def test_the_summary_is_the_counters_at_the_last_quarter_hour():
    data, world, fake = system()
    noon = world.clock.now()
    at_noon = world.snapshot()
    fake.advance(14 * 60)  # 12:14: the cloud still shows 12:00
    summary = data.summary(SYSTEM)
    assert summary["last_report_at"] == summary["last_interval_end_at"] == int(noon)
    assert summary["energy_lifetime"] + summary["energy_today"] == round(at_noon.counters["production"])
    assert abs(summary["energy_today"] - at_noon.today["production"]) <= 1
    assert summary["summary_date"] == "2027-01-15" and summary["status"] == "normal"
    assert (summary["modules"], summary["size_w"], summary["source"]) == (24, 7680, "meter")
    assert (summary["battery_capacity_wh"], summary["battery_charge_w"]) == (15000, 11520)
    last = data.telemetry(SYSTEM, "production_meter", {"granularity": "15mins", "start_at": str(int(noon) - 900)})
    assert abs(summary["current_power"] - last["intervals"][0]["wh_del"] * 4) <= 4  # Wh rounded, then x 4


def test_telemetry_intervals_add_up_to_the_counters_over_the_window():
    data, world, fake = system()
    start, before = int(world.clock.now()), world.energy_totals()
    fake.advance(2 * HOUR)
    after, soc = world.energy_totals(), round(world.snapshot().soc or 0)  # 14:00
    fake.advance(7 * 60)  # 14:07: the intervals run up to 14:00
    params = {"start_at": str(start), "granularity": "day"}
    production = data.telemetry(SYSTEM, "production_meter", params)
    assert (production["start_at"], production["end_at"]) == (start, start + 2 * HOUR)
    assert [i["end_at"] for i in production["intervals"]] == [start + 900 * n for n in range(1, 9)]
    wh = {
        "production": sum(i["wh_del"] for i in production["intervals"]),
        "consumption": sum(i["enwh"] for i in data.telemetry(SYSTEM, "consumption_meter", params)["intervals"]),
    }
    battery = data.telemetry(SYSTEM, "battery", params)
    wh["charged"] = sum(i["charge"]["enwh"] for i in battery["intervals"])
    wh["discharged"] = sum(i["discharge"]["enwh"] for i in battery["intervals"])
    for name, total in wh.items():
        assert total == round(after[name]) - round(before[name]), name
    assert battery["intervals"][-1]["soc"]["percent"] == soc and battery["last_reported_aggregate_soc"] == f"{soc}%"
    assert battery["total_devices"] == 3 and battery["intervals"][0]["charge"]["devices_reporting"] == 3


def test_the_window_of_a_request():
    data, world, fake = system()
    now = int(world.clock.now())
    telemetry = lambda **params: data.telemetry(SYSTEM, "production_meter", params)  # noqa: E731
    assert len(telemetry(start_at=str(now - HOUR - 300), granularity="15mins")["intervals"]) == 1
    today = telemetry()  # from local midnight, a day at most
    assert today["start_at"] == now - 12 * HOUR and len(today["intervals"]) == 48
    assert len(telemetry(start_date="2027-01-14")["intervals"]) == 96
    week = telemetry(start_at=str(now - 10 * 86400), granularity="week")  # clamped to the first report
    first = world.reports.first()
    assert first is not None and week["start_at"] == first.t and week["end_at"] == now
    fake.advance(10 * 60)
    assert telemetry(start_at=str(now + 300))["intervals"] == []  # the gap after the last report
    for params, status in (
        ({"start_at": str(now + HOUR)}, 422),  # the future
        ({"start_at": str(now - 3 * 365 * 86400)}, 422),  # more than two years back
        ({"start_at": "yesterday"}, 422),
        ({"start_date": "2027-13-01"}, 422),
        ({"granularity": "5mins"}, 422),
    ):
        with pytest.raises(ApiError) as caught:
            data.telemetry(SYSTEM, "production_meter", params)
        assert caught.value.status == status, params


def test_a_past_summary_date():
    data, world, _ = system()
    yesterday = data.summary(SYSTEM, "2027-01-14")
    assert (yesterday["modules"], yesterday["size_w"], yesterday["current_power"]) == (0, 0, 0)
    assert abs(yesterday["energy_today"] - world.snapshot().yesterday["production"]) <= 1
    assert refusal(data.summary, SYSTEM, "2027-01-16") == (422, "Requested date is in the future")
    assert refusal(data.summary, SYSTEM, "2026-01-01")[0] == 422
    assert refusal(data.summary, SYSTEM, "15/01/2027")[0] == 422


def test_an_offline_gateway_stops_reporting_until_it_is_back():
    data, world, fake = system()
    fake.advance(20 * 60)
    data.went_offline()
    fake.advance(2 * HOUR)
    summary = data.summary(SYSTEM)
    assert summary["status"] == "comm" and summary["last_report_at"] == int(world.clock.now()) - 2 * HOUR - 5 * 60
    assert data.system(SYSTEM)["status"] == "comm"
    data.came_online()  # the backlog is uploaded
    summary = data.summary(SYSTEM)
    assert summary["status"] == "normal" and summary["last_report_at"] == int(world.clock.now()) - 5 * 60


def test_what_a_system_without_meters_or_batteries_has():
    data, world, _ = system("standard")
    summary = data.summary(SYSTEM)
    report = world.reports.at_or_before(world.clock.now())
    assert report is not None and summary["source"] == "microinverters"
    assert summary["energy_lifetime"] + summary["energy_today"] == round(report.inverters)
    assert "battery_capacity_wh" not in summary
    for kind, details in (
        ("production_meter", "System doesn't have a production meter"),
        ("consumption_meter", "System doesn't have a consumption meter"),
        ("battery", "System doesn't have encharge(s)"),
    ):
        assert refusal(data.telemetry, SYSTEM, kind, {}) == (422, details)
    assert data.latest_telemetry(SYSTEM)["devices"] == {}


def test_latest_telemetry_per_device():
    data, world, fake = system(start="21:00")  # evening: the batteries carry the house
    fake.advance(5 * 60)
    devices = data.latest_telemetry(SYSTEM)["devices"]
    meters = {meter["name"]: meter for meter in devices["meters"]}
    assert meters["production"]["power"] == 0 and meters["consumption"]["power"] > 0
    assert meters["production"]["last_report_at"] == int(world.clock.now()) - 5 * 60
    batteries = devices["encharges"]
    assert len(batteries) == 3 and all(b["power"] > 0 and b["operational_mode"] == "Discharging" for b in batteries)
    assert batteries[0]["name"].startswith("Encharge 4822350")
    acb, _, _ = system("ac_battery")
    assert "encharges" not in acb.latest_telemetry(SYSTEM)["devices"]  # AC Batteries are not encharges


def test_the_systems_entry():
    data, world, _ = system()
    entry = data.system(SYSTEM)
    assert entry["system_id"] == SYSTEM and entry["timezone"] == "UTC" and entry["status"] == "normal"
    assert entry["energy_lifetime"] == entry["energy_today"] == entry["system_size"] == -1
    assert entry["last_report_at"] == int(world.clock.now()) and entry["operational_at"] < entry["last_report_at"]
