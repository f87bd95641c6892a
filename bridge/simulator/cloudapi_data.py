"""The fake Enlighten API v4's data (reference §4.5.1-4.5.6), from the living scenario's own
quarter-hour reports (reports.py): the cloud knows what the gateway uploaded, up to the last
quarter hour, so its numbers agree with the physics' counters at that moment.

- energy in Wh per interval is round(counter at its end) - round(counter at its start), so the
  intervals of a window add up to the rounded counters at its ends, exactly;
- powers are the averages over the last interval (its Wh x 4);
- production is the production CT's counter on metered systems, the microinverters' otherwise;
  consumption the house load; the batteries' charged and discharged counters and state of charge;
- while the gateway is offline (`went_offline` .. `came_online`) the cloud's last report stays
  at the last quarter hour before it went, and `status` is "comm"; back online, the backlog is
  there (a real gateway uploads it).
"""

from __future__ import annotations

import threading
from typing import Any

from bridge.simulator.clock import SimClock
from bridge.simulator.cloudapi_replies import INVALID_RANGE, ApiError
from bridge.simulator.cloudapi_window import local_midnight, window
from bridge.simulator.ensemble import battery_serials
from bridge.simulator.physics import World
from bridge.simulator.reports import QUARTER_S, Report
from bridge.simulator.scenario import Scenario

PER_HOUR = 3600 / QUARTER_S  # Wh in a quarter hour x 4 = the average W
KINDS = ("production_meter", "consumption_meter", "battery")


class SystemData:
    def __init__(self, scenario: Scenario, world: World, clock: SimClock):
        self.s, self.world, self.clock = scenario, world, clock
        first = world.reports.first()
        self.operational_at = int(first.t) if first else int(clock.now())
        self._lock = threading.Lock()
        self._offline_since: float | None = None

    # --- the gateway's link to the cloud ------------------------------------------------------

    def went_offline(self) -> None:
        with self._lock:
            if self._offline_since is None:
                self._offline_since = self.clock.now()

    def came_online(self) -> None:
        with self._lock:
            self._offline_since = None

    @property
    def status(self) -> str:
        with self._lock:
            return "normal" if self._offline_since is None else "comm"

    def last_report(self) -> Report:
        """The latest quarter-hour report the cloud has."""
        now = self.clock.now()
        self.world.advance(now)
        with self._lock:
            until = now if self._offline_since is None else self._offline_since
        report = self.world.reports.at_or_before(until)
        if report is None:  # the pre-roll always leaves a week of them
            raise ApiError(422, "System has not reported yet")
        return report

    # --- bodies -------------------------------------------------------------------------------

    def system(self, system_id: int) -> dict[str, Any]:
        last = self.last_report()
        return {
            "system_id": system_id,
            "name": f"Simulated {self.s.name}",
            "public_name": "Residential System",
            "timezone": self.s.timezone if self.s.timezone != "local" else self.clock.local(last.t).tzname(),
            "address": {"city": "Simville", "state": "", "country": "US", "postal_code": "00000"},
            "connection_type": "ethernet",
            "energy_lifetime": -1,  # always -1 since 2023-07-03: /summary has them
            "energy_today": -1,
            "system_size": -1,
            "status": self.status,
            "last_report_at": int(last.t),
            "last_energy_at": int(last.t),
            "operational_at": self.operational_at,
            "attachment_type": None,
            "interconnect_date": None,
            "reference": str(system_id),
            "other_references": [str(system_id)],
        }

    def summary(self, system_id: int, summary_date: str | None = None) -> dict[str, Any]:
        last = self.last_report()
        today = self.clock.day_start(last.t)
        day = local_midnight(self.clock, summary_date) if summary_date else today
        if day > today:
            raise ApiError(422, "Requested date is in the future")
        at_start = self.world.reports.at_or_before(day)
        if at_start is None:
            raise ApiError(422, INVALID_RANGE)
        at_end = last if day == today else self.world.reports.at_or_before(self.clock.next_midnight(day))
        lifetime = round(self._produced(at_start))
        current = day == today
        body: dict[str, Any] = {
            "system_id": system_id,
            "current_power": round(self._production_w(last)) if current else 0,
            "energy_lifetime": lifetime,  # up to the day before summary_date
            "energy_today": round(self._produced(at_end or last)) - lifetime,
            "last_interval_end_at": int(last.t),
            "last_report_at": int(last.t),
            "modules": self.s.pv.inverters if current else 0,
            "operational_at": self.operational_at,
            "size_w": round(self.s.pv.inverters * self.s.pv.inverter_w) if current else 0,
            "nmi": None,
            "source": "meter" if self.s.metered else "microinverters",
            "status": self.status,
            "summary_date": self.clock.local(day).date().isoformat(),
        }
        battery = self.s.installed_battery
        if battery is not None:
            body["battery_charge_w"] = body["battery_discharge_w"] = round(battery.units * battery.max_power_w)
            body["battery_capacity_wh"] = round(battery.units * battery.capacity_wh)
        return body

    def latest_telemetry(self, system_id: int) -> dict[str, Any]:
        last = self.last_report()
        at = int(last.t)
        devices: dict[str, list[dict[str, Any]]] = {}
        if self.s.metered:
            meters = (("production", self._production_w(last)), ("consumption", self._consumption_w(last)))
            devices["meters"] = [
                {"id": system_id * 10 + i, "name": name, "channel": 1, "last_report_at": at, "power": round(watts)}
                for i, (name, watts) in enumerate(meters, 1)
            ]
        serials = battery_serials(self.s)  # IQ Batteries only: AC Batteries are not "encharges"
        if serials:
            watts = self._battery_w(last) / len(serials)
            devices["encharges"] = [_encharge(system_id * 10 + 3 + i, s, at, watts) for i, s in enumerate(serials)]
        return {"system_id": system_id, "items": "devices", "devices": devices}

    def telemetry(self, system_id: int, kind: str, params: dict[str, str]) -> dict[str, Any]:
        """production_meter, consumption_meter or battery, per 15 minutes over the window asked."""
        self._check_kind(kind)
        last = self.last_report()
        first = self.world.reports.first()
        granularity, start, end = window(self.clock, params, first.t if first else last.t, last.t)
        pairs = self.world.reports.between(start, end)
        body: dict[str, Any] = {
            "system_id": system_id,
            "granularity": granularity,
            "total_devices": self._devices(kind),
            "start_at": int(start),
            "end_at": int(end),
            "items": "intervals",
            "intervals": [self._interval(kind, a, b) for a, b in pairs],
        }
        if kind == "consumption_meter":
            body["meta"] = self._meta(last)
        if kind == "battery" and last.soc is not None:
            body["last_reported_aggregate_soc"] = f"{round(last.soc)}%"
        return body

    # --- one interval ---------------------------------------------------------------------------

    def _interval(self, kind: str, a: Report, b: Report) -> dict[str, Any]:
        end_at = int(b.t)
        if kind == "production_meter":
            return {"end_at": end_at, "devices_reporting": 1, "wh_del": _wh(a.production, b.production)}
        if kind == "consumption_meter":
            return {"end_at": end_at, "devices_reporting": 1, "enwh": _wh(a.consumption, b.consumption)}
        units = self._devices(kind)
        return {
            "end_at": end_at,
            "charge": {"enwh": _wh(a.charged, b.charged), "devices_reporting": units},
            "discharge": {"enwh": _wh(a.discharged, b.discharged), "devices_reporting": units},
            "soc": {"percent": round(b.soc or 0.0), "devices_reporting": units},
        }

    def _check_kind(self, kind: str) -> None:
        cts = self.s.cts if self.s.metered else ()
        if kind == "production_meter" and "production" not in cts:
            raise ApiError(422, "System doesn't have a production meter")
        if kind == "consumption_meter" and not any(ct.endswith("consumption") for ct in cts):
            raise ApiError(422, "System doesn't have a consumption meter")
        if kind == "battery" and self.s.installed_battery is None:
            raise ApiError(422, "System doesn't have encharge(s)")

    def _devices(self, kind: str) -> int:
        battery = self.s.installed_battery
        return battery.units if kind == "battery" and battery is not None else 1

    def _meta(self, last: Report) -> dict[str, Any]:
        at = int(last.t)
        return {
            "status": self.status,
            "last_report_at": at,
            "last_energy_at": at,
            "operational_at": self.operational_at,
        }

    # --- energy and power of the last interval ------------------------------------------------------

    def _produced(self, report: Report) -> float:
        return report.production if self.s.metered else report.inverters

    def _previous(self, report: Report) -> Report:
        return self.world.reports.at_or_before(report.t - QUARTER_S) or report

    def _production_w(self, last: Report) -> float:
        return (self._produced(last) - self._produced(self._previous(last))) * PER_HOUR

    def _consumption_w(self, last: Report) -> float:
        return (last.consumption - self._previous(last).consumption) * PER_HOUR

    def _battery_w(self, last: Report) -> float:
        """Positive while discharging, as the gateway's own sign."""
        before = self._previous(last)
        return (last.discharged - before.discharged - (last.charged - before.charged)) * PER_HOUR


def _wh(start: float, end: float) -> int:
    return round(end) - round(start)


def _encharge(device_id: int, serial: str, at: int, watts: float) -> dict[str, Any]:
    mode = "Idle" if abs(watts) < 1 else ("Discharging" if watts > 0 else "Charging")
    return {
        "id": device_id,
        "name": f"Encharge {serial}",
        "channel": 1,
        "last_report_at": at,
        "power": round(watts),
        "operational_mode": mode,
    }
