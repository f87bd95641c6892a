"""The `{base}/{serial}/live` document: the live data's power flows in W, battery levels and relay
states, read every second or few (docs/mqtt.md).

Signs are the bridge's, and the gateway's here too: power is positive towards the switchboard
(PV producing, grid importing, batteries discharging), so load = pv + storage + grid (+ the
generator). A value is published only where it means something on this gateway: battery values
with batteries (a PV-only gateway reports a storage power and a level of 0), the generator with
a configured one; everything else exactly when the gateway reported it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.payload import Document, Payload, field_names, phase_payloads
from bridge.model.parse import livedata
from bridge.model.parse.readings import Readings

PHASES = ("l1", "l2", "l3")  # the gateway's phases a, b, c
MAIN_RELAY = {1: "closed", 0: "open"}  # 13: no system controller, and nothing else is known


@dataclass(frozen=True, slots=True)
class LivePhase(Document):
    pv_power_w: float | None = None
    grid_power_w: float | None = None
    load_power_w: float | None = None
    storage_power_w: float | None = None
    generator_power_w: float | None = None


@dataclass(frozen=True, slots=True)
class LiveDocument(Document):
    time: int  # when the bridge read it
    sampled_at: int | None = None  # the gateway's last meter sample (meters.last_update)
    pv_power_w: float | None = None
    grid_power_w: float | None = None  # + import / - export
    load_power_w: float | None = None
    storage_power_w: float | None = None  # + discharging / - charging
    generator_power_w: float | None = None
    soc_pct: int | None = None
    encharge_soc_pct: int | None = None
    encharge_energy_wh: int | None = None
    acb_soc_pct: int | None = None
    acb_energy_wh: int | None = None
    backup_reserve_pct: int | None = None
    main_relay: str | None = None  # "closed" / "open"
    main_relay_state: int | None = None
    gen_relay_state: int | None = None
    stream: str | None = None
    phases: tuple[tuple[str, LivePhase], ...] = ()

    def as_payload(self) -> Payload:
        payload = {
            name: value
            for name in field_names(LiveDocument)
            if name != "phases" and (value := getattr(self, name)) is not None
        }
        if phases := phase_payloads(self.phases):
            payload["phases"] = phases
        return payload


def build_live(readings: Readings, read_at: float) -> LiveDocument | None:
    """The live document of the latest (fresh) live reading; None without one."""
    live = readings.live
    if live is None:
        return None
    batteries = readings.has_batteries or _has_storage_ct(readings)
    encharge = readings.inventory is not None and bool(readings.inventory.encharges)
    acb = any(report.acb_storage() is not None for report in readings.reports)
    meters = _published_meters(live, readings, batteries)
    power = {name: watts(meter.power_w) for name, meter in meters.items()}
    return LiveDocument(
        time=int(read_at),
        sampled_at=live.last_update,
        pv_power_w=power.get("pv"),
        grid_power_w=power.get("grid"),
        load_power_w=power.get("load"),
        storage_power_w=power.get("storage"),
        generator_power_w=power.get("generator"),
        soc_pct=live.soc_pct if batteries else None,
        encharge_soc_pct=live.encharge_soc_pct if encharge else None,
        encharge_energy_wh=live.encharge_energy_wh if encharge else None,
        acb_soc_pct=live.acb_soc_pct if acb else None,
        acb_energy_wh=live.acb_energy_wh if acb else None,
        backup_reserve_pct=live.backup_soc_pct if batteries else None,
        main_relay=MAIN_RELAY.get(live.main_relay_state) if live.main_relay_state is not None else None,
        main_relay_state=live.main_relay_state,
        gen_relay_state=live.gen_relay_state,
        stream=live.sc_stream,
        phases=_phases(live, meters),
    )


def watts(value: float | None) -> float | None:
    """W with one decimal (the gateway's mW are finer than any CT); never a negative zero."""
    return None if value is None else round(value, 1) + 0.0


def _published_meters(live: livedata.LiveData, readings: Readings, batteries: bool) -> dict[str, livedata.LiveMeter]:
    generator = readings.generator_config is not None and readings.generator_config.configured
    candidates = {
        "pv": live.pv,
        "grid": live.grid,
        "load": live.load,
        "storage": live.storage if batteries else None,
        "generator": live.generator if generator else None,
    }
    return {name: meter for name, meter in candidates.items() if meter is not None}


def _phases(live: livedata.LiveData, meters: dict[str, livedata.LiveMeter]) -> tuple[tuple[str, LivePhase], ...]:
    """Per phase, only on a multi-phase gateway (phase_count > 1; 0 has been seen on split-phase
    ones, which say so in is_split_phase) whose firmware has the per-phase keys."""
    count = live.phase_count if live.phase_count and live.phase_count > 1 else (2 if live.split_phase else 0)
    return tuple((PHASES[i], _phase(meters, i)) for i in range(min(count, len(PHASES))))


def _phase(meters: dict[str, livedata.LiveMeter], index: int) -> LivePhase:
    power = {name: watts(m.phases_w[index]) for name, m in meters.items() if len(m.phases_w) > index}
    return LivePhase(
        pv_power_w=power.get("pv"),
        grid_power_w=power.get("grid"),
        load_power_w=power.get("load"),
        storage_power_w=power.get("storage"),
        generator_power_w=power.get("generator"),
    )


def _has_storage_ct(readings: Readings) -> bool:
    return readings.meters is not None and "storage" in readings.meters.enabled_types()
