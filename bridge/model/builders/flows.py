"""System production, consumption and net consumption: source selection and firmware repairs.

Production source (reference §2, pyenphase 4.2.0 probe order):
1. the `eim` production entry of `/production.json?details=1` (or `/production`) when its
   activeCount > 0;
2. but with an enabled production CT, an eim entry with activeCount 0 is a known glitch
   (5.3.5528/8.3.5528): production and total consumption are withheld, not replaced by
   the inverter numbers, which differ and would make step changes;
3. `/api/v1/production` (standard gateways), unless all its wattHours are 0 (metered without
   CTs) or the gateway is metered, without enabled CT, on firmware >= 8.2.4264 (stalled);
4. the `inverters` entry of the report: power and lifetime only. Its today and 7-day figures
   do not exist, and the eim ones of an inactive meter are not believed either.

Consumption: the report's consumption entries, when any of them is active.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bridge.errors import EnvoyPoorDataQuality
from bridge.model.builders.ctmeters import PHASE_NAMES
from bridge.model.builders.payload import Payload, phase_payloads, to_int
from bridge.model.parse.info import GatewayInfo
from bridge.model.parse.production import (
    NET_CONSUMPTION,
    TOTAL_CONSUMPTION,
    ApiV1Production,
    Counters,
    ProductionReport,
    ReportEntry,
)

# HA's DAILY_ENERGY_UPPER_LIMIT: the Envoy sometimes adds 2**32 (4.29 GWh) to its daily
# counters; no home produces or uses 4 GWh in a day (or a week), so such values are dropped.
DAILY_ENERGY_LIMIT_WH = 4_000_000_000
# From this firmware total-consumption wNow/whLifetime are copies of net-consumption.
TOTAL_IS_NET_MIN_VERSION = (8, 3, 5433)
# From this firmware /api/v1/production is stalled on metered gateways without CTs.
V1_STALLED_MIN_VERSION = (8, 2, 4264)
# Firmware 3.x answers 200 with all zeros right after boot (newer firmware answers 503).
ZEROS_AT_BOOT_MAJOR = 3

SOURCE_EIM, SOURCE_API_V1, SOURCE_INVERTERS = "eim", "api_v1", "inverters"


@dataclass(frozen=True, slots=True)
class Flow:
    power_w: int | None = None
    energy_today_wh: int | None = None
    energy_last_7_days_wh: int | None = None
    energy_lifetime_wh: int | None = None
    phases: tuple[tuple[str, Flow], ...] = ()

    def as_payload(self) -> Payload:
        payload = {key: getattr(self, key) for key in self.__slots__[:4] if getattr(self, key) is not None}
        if phases := phase_payloads(self.phases):
            payload["phases"] = phases
        return payload

    @property
    def is_empty(self) -> bool:
        return not self.as_payload()


@dataclass(frozen=True, slots=True)
class Sources:
    """The parsed endpoints the flows are computed from."""

    reports: tuple[ProductionReport, ...]  # /production.json?details=1 first, then /production
    v1: ApiV1Production | None = None
    ct_types: frozenset[str] = frozenset()  # measurementType of every enabled CT
    phase_count: int | None = None  # from /ivp/meters; None when unknown


@dataclass(frozen=True, slots=True)
class Flows:
    production: Flow | None = None
    consumption: Flow | None = None
    net_consumption: Flow | None = None
    production_source: str | None = None
    reading_times: tuple[float, ...] = ()


def build_flows(info: GatewayInfo, src: Sources) -> Flows:
    production, source, production_entry = _production(info, src)
    # An all-zero /api/v1/production is skipped as a source, so check it when nothing else won.
    _reject_zeros_at_boot(info, production if production is not None else src.v1)
    total, net, consumption_entries = _consumption(src)
    if source is None and _eim_glitch(src):
        total = None  # pyenphase 4.2.0: no reliable production, so no repairable total
    total = _repair_total_is_net(info, production if source == SOURCE_EIM else None, total, net)
    entries = (production_entry, *consumption_entries)
    times = tuple(e.reading_time for e in entries if e is not None and e.reading_time)
    return Flows(_nonempty(production), _nonempty(total), _nonempty(net), source, times)


def v1_usable(info: GatewayInfo, v1: ApiV1Production | None, ct_types: frozenset[str]) -> bool:
    if v1 is None or v1.all_energy_zero():
        return False
    stalled = info.metered and info.version >= V1_STALLED_MIN_VERSION and not ct_types
    return not stalled


def eim_report(reports: tuple[ProductionReport, ...]) -> ProductionReport | None:
    """The first report whose eim production entry is active."""
    return next((r for r in reports if (e := r.eim_production()) is not None and e.is_active), None)


def _eim_glitch(src: Sources) -> bool:
    return "production" in src.ct_types and any(r.eim_production() is not None for r in src.reports)


def _production(info: GatewayInfo, src: Sources) -> tuple[Flow | None, str | None, ReportEntry | None]:
    report = eim_report(src.reports)
    if report is not None:
        entry = report.eim_production()
        return _flow(entry, _phase_count(src, report)), SOURCE_EIM, entry
    if _eim_glitch(src):
        return None, None, None
    if src.v1 is not None and v1_usable(info, src.v1, src.ct_types):
        return _v1_flow(src.v1), SOURCE_API_V1, None
    entry = next((e for r in src.reports if (e := r.inverters()) is not None), None)
    if entry is None:
        return None, None, None
    flow = Flow(power_w=to_int(entry.totals.w_now), energy_lifetime_wh=to_int(entry.totals.wh_lifetime))
    return flow, SOURCE_INVERTERS, entry


def _consumption(src: Sources) -> tuple[Flow | None, Flow | None, tuple[ReportEntry | None, ...]]:
    preferred = eim_report(src.reports)
    candidates = ((preferred,) if preferred else ()) + src.reports
    report = next((r for r in candidates if r.consumption_active()), None)
    if report is None:
        return None, None, ()
    phase_count = _phase_count(src, report)
    total_entry = report.consumption_entry(TOTAL_CONSUMPTION)
    net_entry = report.consumption_entry(NET_CONSUMPTION)
    # The gateway never computes today / last-7-days for net consumption: they are a
    # constant integer 0, i.e. missing data, so they are left out rather than sent as 0.
    net = _flow(net_entry, phase_count, daily=False)
    return _flow(total_entry, phase_count), net, (total_entry, net_entry)


def _phase_count(src: Sources, report: ProductionReport) -> int:
    """Phases in use: /ivp/meters' phaseCount when known, else the lines that carry data
    (8.3.5433 sends three lines, all zero for the phases that are not wired)."""
    if src.phase_count:
        return src.phase_count
    entries = report.production + report.consumption
    return max((sum(line.active for line in e.lines) for e in entries), default=0)


def _flow(entry: ReportEntry | None, phase_count: int, daily: bool = True) -> Flow | None:
    if entry is None:
        return None
    lines = entry.lines[: min(phase_count, len(PHASE_NAMES))] if phase_count > 1 else ()
    phases = tuple((PHASE_NAMES[i], _counters(line, daily)) for i, line in enumerate(lines) if line.active)
    return replace(_counters(entry.totals, daily), phases=phases)


def _counters(counters: Counters, daily: bool) -> Flow:
    return Flow(
        power_w=to_int(counters.w_now),
        energy_today_wh=daily_energy(counters.wh_today) if daily else None,
        energy_last_7_days_wh=daily_energy(counters.wh_last_7_days) if daily else None,
        energy_lifetime_wh=to_int(counters.wh_lifetime),
    )


def _v1_flow(v1: ApiV1Production) -> Flow:
    return Flow(
        power_w=to_int(v1.watts_now),
        energy_today_wh=daily_energy(v1.wh_today),
        energy_last_7_days_wh=daily_energy(v1.wh_last_7_days),
        energy_lifetime_wh=to_int(v1.wh_lifetime),
    )


def daily_energy(value: float | None) -> int | None:
    """Today / last-7-days counters, minus the 2**32-offset ones (above 4 GWh)."""
    rounded = to_int(value)
    return None if rounded is None or rounded > DAILY_ENERGY_LIMIT_WH else rounded


def _repair_total_is_net(
    info: GatewayInfo, production: Flow | None, total: Flow | None, net: Flow | None
) -> Flow | None:
    """Firmware >= 8.3.5433: total-consumption wNow/whLifetime equal net-consumption.
    Repaired as net + production (pyenphase#467, PR #477); without eim production it cannot
    be repaired, and the raw net values are not published as total either."""
    if not (info.metered and info.version >= TOTAL_IS_NET_MIN_VERSION and total and net and _same(total, net)):
        return total
    if production is None or production.power_w is None or production.energy_lifetime_wh is None:
        return None
    phases = dict(production.phases)
    net_phases = dict(net.phases)
    repaired = tuple(
        (
            name,
            _add(flow, phases[name])
            if name in phases and name in net_phases and _same(flow, net_phases[name])
            else flow,
        )
        for name, flow in total.phases
    )
    return replace(_add(total, production), phases=repaired)


def _same(total: Flow, net: Flow) -> bool:
    return (total.energy_lifetime_wh, total.power_w) == (net.energy_lifetime_wh, net.power_w)


def _add(total: Flow, production: Flow) -> Flow:
    def plus(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else a + b

    return replace(
        total,
        power_w=plus(total.power_w, production.power_w),
        energy_lifetime_wh=plus(total.energy_lifetime_wh, production.energy_lifetime_wh),
    )


def _reject_zeros_at_boot(info: GatewayInfo, data: Flow | ApiV1Production | None) -> None:
    """Firmware 3.x: all-zero production right after boot is rejected, not published, so no
    zeros land in the history (pyenphase EnvoyPoorDataQuality)."""
    if info.version[0] != ZEROS_AT_BOOT_MAJOR or data is None:
        return
    if isinstance(data, ApiV1Production):
        values = [data.watts_now, data.wh_today, data.wh_last_7_days, data.wh_lifetime]
    else:
        values = [data.power_w, data.energy_today_wh, data.energy_last_7_days_wh, data.energy_lifetime_wh]
    present = [v for v in values if v is not None]
    if present and not any(present):
        raise EnvoyPoorDataQuality(f"firmware {info.firmware}: production all zero, the gateway is still starting")


def _nonempty(flow: Flow | None) -> Flow | None:
    return None if flow is None or flow.is_empty else flow
