"""The cloud API's documents as typed dataclasses: the reference's shapes read whole, a bad field
None with one log line, never a wrong number; a document that is no object is a data error."""

from __future__ import annotations

import logging

import pytest

from bridge.cloudapi.parse import (
    BatteryInterval,
    Interval,
    parse_latest_telemetry,
    parse_summary,
    parse_telemetry,
)
from bridge.errors import CloudApiDataError
from tests.unit.cloudapi.helpers import SUMMARY


def test_a_summary_in_watts_watt_hours_and_epoch_seconds():
    summary = parse_summary(SUMMARY | {"battery_capacity_wh": 3360, "battery_charge_w": 1280})
    assert (summary.current_power_w, summary.energy_today_wh, summary.energy_lifetime_wh) == (755.0, 12000.0, 9e6)
    assert (summary.last_report_at, summary.modules, summary.source) == (1_767_221_100.0, 20, "meter")
    assert (summary.battery_capacity_wh, summary.battery_charge_w, summary.battery_discharge_w) == (
        3360.0,
        1280.0,
        None,
    )


def test_bad_fields_are_none_with_one_log_line(caplog):
    bad = SUMMARY | {"current_power": "755", "energy_today": -5, "modules": True, "last_report_at": 1e300}
    with caplog.at_level(logging.WARNING, "bridge.cloudapi"):
        summary = parse_summary(bad)
    assert (summary.current_power_w, summary.energy_today_wh, summary.modules, summary.last_report_at) == (None,) * 4
    assert summary.energy_lifetime_wh == 9e6
    assert len(caplog.records) == 1
    assert "current_power, energy_today, last_report_at, modules" in caplog.records[0].getMessage()


def test_latest_telemetry_meters_and_batteries():
    doc = {
        "system_id": 1,
        "devices": {
            "meters": [
                {"id": 1, "name": "production", "channel": 1, "last_report_at": 1701418500, "power": 755},
                {"id": 2, "name": "consumption", "channel": 1, "last_report_at": None, "power": None},
            ],
            "encharges": [{"name": "Encharge 1", "channel": 1, "power": -15, "operational_mode": "Idle"}],
        },
    }
    latest = parse_latest_telemetry(doc)
    assert [(m.name, m.power_w) for m in latest.meters] == [("production", 755.0), ("consumption", None)]
    assert (latest.batteries[0].power_w, latest.batteries[0].mode) == (-15.0, "Idle")


def test_telemetry_intervals_of_each_kind(caplog):
    production = {
        "granularity": "day",
        "intervals": [{"end_at": 900, "devices_reporting": 1, "wh_del": 40}, {"wh_del": 5}],
    }
    consumption = {"intervals": [{"end_at": 900, "devices_reporting": 1, "enwh": 12}]}
    battery = {
        "intervals": [
            {"end_at": 900, "charge": {"enwh": 40}, "discharge": {"enwh": 0}, "soc": {"percent": 125}},
        ]
    }
    with caplog.at_level(logging.WARNING, "bridge.cloudapi"):
        assert parse_telemetry(production, "production_meter").intervals == (Interval(900.0, 40.0, 1),)
        assert parse_telemetry(consumption, "consumption_meter").intervals == (Interval(900.0, 12.0, 1),)
        assert parse_telemetry(battery, "battery").intervals == (BatteryInterval(900.0, 40.0, 0.0, None),)
    assert [r.getMessage().split(": ")[-1] for r in caplog.records] == [
        "intervals[1].end_at",
        "intervals[0].soc.percent",
    ]


@pytest.mark.parametrize("doc", [[], "summary", None])
def test_a_document_that_is_no_object_is_a_data_error(doc):
    with pytest.raises(CloudApiDataError):
        parse_summary(doc)
