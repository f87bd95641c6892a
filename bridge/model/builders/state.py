"""The gateway state (schema 1): the `{base}/{serial}/state` document and the unit documents,
built from the latest typed reading of every polled endpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bridge.errors import EnvoyDataError
from bridge.model.builders.ctmeters import CtMeter, build_meters
from bridge.model.builders.devices import Device, build_devices
from bridge.model.builders.flows import Flow, Flows, Sources, build_flows
from bridge.model.builders.grid import GridState, grid_flows, grid_status
from bridge.model.builders.payload import Payload
from bridge.model.builders.storage import Storage
from bridge.model.parse.info import GatewayInfo
from bridge.model.parse.readings import Readings

SCHEMA = 1


@dataclass(frozen=True, slots=True)
class GatewayState:
    serial: str
    firmware: str
    time: int  # unix seconds of the newest reading, else of the poll
    production: Flow | None = None
    consumption: Flow | None = None
    net_consumption: Flow | None = None
    grid: GridState = field(default_factory=GridState)
    meters: tuple[CtMeter, ...] = ()
    production_source: str | None = None  # "eim" / "api_v1" / "inverters", for diagnostics
    storage: Storage = field(default_factory=Storage)  # battery aggregates and storage settings
    devices: tuple[Device, ...] = ()  # one per physical unit, each on its own topic
    # Units left out because their id cannot be a topic level: why, one line each, for the log.
    refused_units: tuple[str, ...] = ()

    @property
    def grid_status(self) -> str | None:
        return self.grid.status

    def meter(self, key: str) -> CtMeter | None:
        return next((m for m in self.meters if m.key == key), None)

    def as_payload(self) -> Payload:
        """The `{base}/{serial}/state` document: sections without data are left out."""
        payload: Payload = {"schema": SCHEMA, "serial": self.serial, "firmware": self.firmware, "time": self.time}
        sections = {
            "production": self.production.as_payload() if self.production else {},
            "consumption": self.consumption.as_payload() if self.consumption else {},
            "net_consumption": self.net_consumption.as_payload() if self.net_consumption else {},
            "grid": self.grid.as_payload(),
            "meters": {m.key: body for m in self.meters if (body := m.as_payload())},
            **self.storage.sections(),
        }
        payload.update({name: body for name, body in sections.items() if body})
        return payload

    def device_payloads(self) -> dict[str, Payload]:
        """Topic suffix (below `{base}/{serial}/`) -> document, for every unit with data."""
        return {device.suffix: body for device in self.devices if (body := device.as_payload())}


def gateway_state(info: GatewayInfo, readings: Readings, polled_at: float) -> GatewayState:
    """Combine the readings into one snapshot, applying every firmware repair.

    Raises EnvoyDataError when nothing usable is left, and its subclass
    EnvoyPoorDataQuality when firmware 3.x sends its all-zero boot data.
    """
    meters = build_meters(readings.meters, readings.meter_readings)
    flows = build_flows(info, _sources(readings))
    grid = _grid(readings, meters)
    devices, refused_units, storage = build_devices(readings)
    state = GatewayState(
        serial=info.serial,
        firmware=info.firmware,
        time=_newest(flows, meters, polled_at),
        production=flows.production,
        consumption=flows.consumption,
        net_consumption=flows.net_consumption,
        grid=grid,
        meters=meters,
        production_source=flows.production_source,
        storage=storage,
        devices=devices,
        refused_units=refused_units,
    )
    if set(state.as_payload()) <= {"schema", "serial", "firmware", "time"} and not state.device_payloads():
        raise EnvoyDataError(f"{info.serial}: no usable production, consumption, meter or grid data")
    return state


def _sources(readings: Readings) -> Sources:
    config = readings.meters
    return Sources(
        reports=readings.reports,
        v1=readings.api_v1,
        ct_types=config.enabled_types() if config else frozenset(),
        phase_count=config.phase_count() if config else None,
    )


def _grid(readings: Readings, meters: tuple[CtMeter, ...]) -> GridState:
    main_relay = readings.live.main_relay_state if readings.live is not None else None
    status = grid_status(readings.inventory, readings.relay, main_relay)
    totals = next((m.totals for m in meters if m.key == "net_consumption" and m.totals is not None), None)
    if totals is None:
        return GridState(status=status)  # no net CT: import/export are unknown, not zero
    return GridState(status=status, **grid_flows(totals.power_w, totals.energy_delivered_wh, totals.energy_received_wh))


def _newest(flows: Flows, meters: tuple[CtMeter, ...], polled_at: float) -> int:
    if isinstance(polled_at, bool) or not isinstance(polled_at, (int, float)) or not math.isfinite(polled_at):
        raise EnvoyDataError(f"polled_at must be a finite number of seconds, got {type(polled_at).__name__}")
    times = [t for t in (*flows.reading_times, *(m.timestamp for m in meters)) if t and t > 0]
    return int(max(times)) if times else int(polled_at)
