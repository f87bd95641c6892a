"""The cloud's answers -> the `/cloud` and `only` mode `/state` documents: every value with its
time, lifetime production that does not jump at midnight, nothing made up for a missing field."""

from __future__ import annotations

import logging

from bridge.cloudapi.budget import Usage
from bridge.cloudapi.documents import CloudData, cloud_document, state_document
from bridge.cloudapi.parse import parse_summary, parse_telemetry
from bridge.cloudapi.source import SourceStatus

REPORT = 1_800_000_000  # 2027-01-15 08:00:00 UTC
NOW = REPORT + 600
SUMMARY = {
    "system_id": 7,
    "current_power": 2400,
    "energy_today": 5000,
    "energy_lifetime": 1_000_000,
    "last_report_at": REPORT,
    "last_interval_end_at": REPORT,
    "status": "normal",
    "source": "meter",
}
CONSUMPTION = {"intervals": [{"end_at": REPORT - 900, "enwh": 200}, {"end_at": REPORT, "enwh": 300}]}
BATTERY = {
    "intervals": [
        {"end_at": REPORT, "charge": {"enwh": 100}, "discharge": {"enwh": 0}, "soc": {"percent": 55}},
    ]
}


def status(**changes) -> SourceStatus:
    values = {
        "stopped": None,
        "needs_authorize": False,
        "system_id": 7,
        "usage": Usage(12, 3, 1000, NOW),
        "tokens": None,
    }
    return SourceStatus(**{**values, **changes})


def data(summary=SUMMARY, consumption=CONSUMPTION, battery=None) -> CloudData:
    return CloudData(
        summary=parse_summary(summary) if summary else None,
        consumption=parse_telemetry(consumption, "consumption_meter") if consumption else None,
        battery=parse_telemetry(battery, "battery") if battery else None,
    )


def test_the_cloud_document_gives_every_value_its_time_and_the_statuses():
    doc = cloud_document(data(battery=BATTERY), status(), NOW)
    assert doc["source_status"] == "ok" and "source_problem" not in doc
    assert (doc["system_id"], doc["system_status"], doc["source"]) == (7, "normal", "meter")
    assert (doc["last_report_at"], doc["last_report_at_iso"], doc["age_s"]) == (REPORT, "2027-01-15T08:00:00Z", 600)
    assert doc["production"] == {
        "power_w": 2400,
        "energy_today_wh": 5000,
        "energy_lifetime_wh": 1_005_000,  # up to yesterday + today: no jump at midnight
        "at": REPORT,
        "at_iso": "2027-01-15T08:00:00Z",
    }
    assert doc["consumption"] == {
        "energy_today_wh": 500,
        "power_w": 1200,
        "at": REPORT,
        "at_iso": "2027-01-15T08:00:00Z",
    }
    assert doc["battery"]["soc_pct"] == 55 and doc["battery"]["power_w"] == -400  # charging
    assert (doc["calls_today"], doc["calls_month"], doc["calls_month_limit"]) == (3, 12, 1000)


def test_only_mode_state_has_the_cloud_s_sections_marked_as_cloud():
    state = state_document("122", data(battery=BATTERY))
    assert state == {
        "schema": 1,
        "serial": "122",
        "source": "cloud",
        "time": REPORT,
        "production": {"power_w": 2400, "energy_today_wh": 5000, "energy_lifetime_wh": 1_005_000},
        "consumption": {"energy_today_wh": 500, "power_w": 1200},
        "battery": {"soc_pct": 55, "power_w": -400},
    }
    assert state_document("122", data(summary=None)) is None  # no time to give the values
    assert "battery" not in state_document("122", data())


def test_a_bad_field_is_left_out_with_one_log_line_never_a_wrong_number(caplog):
    bad = {**SUMMARY, "current_power": "lots", "energy_today": -5}
    holes = {"intervals": [{"end_at": REPORT - 900, "enwh": "x"}, {"end_at": REPORT, "enwh": 300}]}
    with caplog.at_level(logging.WARNING, "bridge.cloudapi"):
        doc = cloud_document(data(summary=bad, consumption=holes), status(), NOW)
    assert "production" not in doc  # power and today unusable; the lifetime needs today's energy too
    assert doc["system_status"] == "normal"  # the rest flows
    assert doc["consumption"] == {"power_w": 1200, "at": REPORT, "at_iso": "2027-01-15T08:00:00Z"}  # no sum with a hole
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "current_power" in lines[0] and "energy_today" in lines[0]


def test_the_source_status_says_what_to_do():
    doc = cloud_document(data(), status(needs_authorize=True), NOW)
    assert doc["source_status"] == "needs_authorize" and "cloud authorize" in doc["source_problem"]
    doc = cloud_document(data(), status(stopped="the API key is refused"), NOW)
    assert (doc["source_status"], doc["source_problem"]) == ("stopped", "the API key is refused")
    assert cloud_document(data(), status(usage=Usage(1000, 30, 1000, NOW)), NOW)["source_status"] == "quota"
    waiting = cloud_document(CloudData(), status(), NOW)
    assert waiting["source_status"] == "waiting" and "production" not in waiting and "age_s" not in waiting
