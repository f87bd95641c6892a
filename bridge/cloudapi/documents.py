"""PURE: the cloud's latest answers -> the `{base}/{serial}/cloud` document and, in `only` mode,
the `{base}/{serial}/state` document (docs/mqtt.md "The cloud document").

Every value keeps the time the cloud had it (`at`, epoch s, and `at_iso`): the cloud lags by a
quarter hour or more, and a value without its time would pass for a live one. Values the answers
lack (a field parse.py dropped, an endpoint outside the plan) are left out, never made 0.

Units as the local documents: W, Wh, percent, rounded to whole numbers. Production's lifetime is
the summary's `energy_lifetime` (up to yesterday) plus `energy_today`, so it grows through the
day and does not jump at midnight. Consumption and the batteries come from the day's 15-minute
intervals: energy today is their sum, power the last interval's average.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bridge.cloudapi.parse import BatteryInterval, Interval, LatestTelemetry, Summary, Telemetry
from bridge.cloudapi.source import SourceStatus

SCHEMA = 1
PER_HOUR = 4  # 15-minute intervals: Wh x 4 = the interval's average W
OK, NEEDS_AUTHORIZE, STOPPED, QUOTA, WAITING = "ok", "needs_authorize", "stopped", "quota", "waiting"
AUTHORIZE_AGAIN = "the owner's consent has expired: run `envoy-mqtt-bridge cloud authorize` again"
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CloudData:
    """The latest good answer of each endpoint (None: none yet, or not in the plan)."""

    summary: Summary | None = None
    consumption: Telemetry | None = None
    battery: Telemetry | None = None
    latest: LatestTelemetry | None = None


def source_status(status: SourceStatus, has_data: bool) -> tuple[str, str | None]:
    """ok / needs_authorize / stopped / quota / waiting (no answer yet), and the problem in words."""
    if status.stopped:
        return STOPPED, status.stopped
    if status.needs_authorize:
        return NEEDS_AUTHORIZE, AUTHORIZE_AGAIN
    if status.usage.month >= status.usage.per_month:
        return QUOTA, f"the month's {status.usage.per_month} calls are used; the cloud is asked again on the 1st"
    return (OK, None) if has_data else (WAITING, None)


def cloud_document(data: CloudData, status: SourceStatus, now: float) -> Document:
    """The `/cloud` document: the values with their times, the system's and the source's status."""
    code, problem = source_status(status, data.summary is not None)
    doc: Document = {"schema": SCHEMA, "time": int(now), "source_status": code}
    if problem:
        doc["source_problem"] = problem
    if status.system_id is not None:
        doc["system_id"] = status.system_id
    doc.update(calls_today=status.usage.today, calls_month=status.usage.month, calls_month_limit=status.usage.per_month)
    summary = data.summary
    if summary is not None:
        doc.update(_present(system_status=summary.status, source=summary.source))
        if summary.last_report_at is not None:
            doc.update(
                _stamp(summary.last_report_at, "last_report_at"), age_s=max(0, int(now - summary.last_report_at))
            )
    sections = {
        "production": production(data),
        "consumption": consumption(data),
        "battery": battery(data),
    }
    doc.update({name: body for name, body in sections.items() if _values(body)})
    return doc


def state_document(serial: str, data: CloudData) -> Document | None:
    """The `only` mode's `/state`: the sections the cloud has, marked `"source": "cloud"`; None
    until the summary has answered (no time to give the values)."""
    summary = data.summary
    if summary is None or summary.last_report_at is None:
        return None
    doc: Document = {"schema": 1, "serial": serial, "source": "cloud", "time": int(summary.last_report_at)}
    for name, body in (("production", production(data)), ("consumption", consumption(data))):
        if values := _values(body):
            doc[name] = values
    if values := _values(battery(data)):
        doc["battery"] = {key: values[key] for key in ("soc_pct", "power_w") if key in values}
    return doc


def production(data: CloudData) -> Document:
    summary = data.summary
    if summary is None:
        return {}
    lifetime = None
    if summary.energy_lifetime_wh is not None and summary.energy_today_wh is not None:
        lifetime = summary.energy_lifetime_wh + summary.energy_today_wh
    at = summary.last_interval_end_at or summary.last_report_at
    body = _present(
        power_w=summary.current_power_w, energy_today_wh=summary.energy_today_wh, energy_lifetime_wh=lifetime
    )
    meter = _latest_power(data.latest, "production")
    if meter is not None:  # latest_telemetry (Kilowatt plan and above) is the fresher power
        body["power_w"], at = meter
    return {**_round(body), **_stamp(at)} if body else {}


def consumption(data: CloudData) -> Document:
    telemetry = data.consumption
    intervals = [i for i in telemetry.intervals if isinstance(i, Interval)] if telemetry else []
    body: Document = {}
    at: float | None = None
    if intervals:
        if all(i.wh is not None for i in intervals):  # a hole would make today's sum a wrong number
            body["energy_today_wh"] = sum(i.wh or 0 for i in intervals)
        last = intervals[-1]
        body.update(_present(power_w=None if last.wh is None else last.wh * PER_HOUR))
        at = last.end_at
    meter = _latest_power(data.latest, "consumption")
    if meter is not None:
        body["power_w"], at = meter
    return {**_round(body), **_stamp(at)} if body else {}


def battery(data: CloudData) -> Document:
    telemetry = data.battery
    intervals = [i for i in telemetry.intervals if isinstance(i, BatteryInterval)] if telemetry else []
    if not intervals:
        return {}
    last = intervals[-1]
    power = None
    if last.charge_wh is not None and last.discharge_wh is not None:
        power = (last.discharge_wh - last.charge_wh) * PER_HOUR  # + discharging, as the gateway's sign
    body = _present(soc_pct=last.soc_percent, power_w=power)
    for key, field in (("charged_today_wh", "charge_wh"), ("discharged_today_wh", "discharge_wh")):
        values = [getattr(i, field) for i in intervals]
        if None not in values:
            body[key] = sum(values)
    return {**_round(body), **_stamp(last.end_at)} if body else {}


def _latest_power(latest: LatestTelemetry | None, name: str) -> tuple[float, float | None] | None:
    meter = next((m for m in latest.meters if m.name == name), None) if latest else None
    return None if meter is None or meter.power_w is None else (meter.power_w, meter.last_report_at)


def _present(**values: Any) -> Document:
    return {key: value for key, value in values.items() if value is not None}


def _round(body: Document) -> Document:
    return {key: round(value) if isinstance(value, float) else value for key, value in body.items()}


def _stamp(at: float | None, key: str = "at") -> Document:
    if at is None:
        return {}
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return {key: int(at), f"{key}_iso": iso}


def _values(body: Document) -> Document:
    """The body without its time stamps: empty when there is no value to show."""
    return {key: value for key, value in body.items() if key not in ("at", "at_iso")}
