"""Grid status and grid import/export.

Status sources, in the reference's priority order (§3, design implication 11):
the Enpower relay `mains_oper_state` (closed = on grid), from `/ivp/ensemble/relay` or the
ENPOWER device of `/ivp/ensemble/inventory`; then the IQ Meter Collar's `admin_state_str`.
Ignored on purpose: `Enpwr_grid_mode` (still "multimode-ongrid" while on generator), the
collar's `grid_state` (does not follow the real state) and the relay endpoint on gateways
without an Enpower (always reads "closed").
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.common import Fields, object_list, top_object

ON_GRID, OFF_GRID = "on_grid", "off_grid"
ENPOWER, COLLAR = "ENPOWER", "COLLAR"
RELAY_STATES = {"closed": ON_GRID, "open": OFF_GRID}
COLLAR_STATES = {"ENCMN_MDE_ON_GRID": ON_GRID, "ENCMN_MDE_OFF_GRID": OFF_GRID}


@dataclass(frozen=True, slots=True)
class Enpower:
    serial: str | None
    mains_oper_state: str | None  # "closed" / "open": the relay as it is
    mains_admin_state: str | None  # the relay as commanded


@dataclass(frozen=True, slots=True)
class Collar:
    serial: str | None
    admin_state_str: str | None  # ENCMN_MDE_ON_GRID / ENCMN_MDE_OFF_GRID


@dataclass(frozen=True, slots=True)
class EnsembleInventory:
    """`/ivp/ensemble/inventory`, reduced to what grid status needs plus the device census."""

    enpowers: tuple[Enpower, ...]
    collars: tuple[Collar, ...]
    device_counts: tuple[tuple[str, int], ...]  # (type, number of devices), e.g. ("ENCHARGE", 3)

    @property
    def has_grid_device(self) -> bool:
        return bool(self.enpowers or self.collars)


@dataclass(frozen=True, slots=True)
class RelayState:
    """`/ivp/ensemble/relay` (GET)."""

    mains_oper_state: str | None
    mains_admin_state: str | None


@dataclass(frozen=True, slots=True)
class GridState:
    status: str | None = None  # "on_grid" / "off_grid"
    import_power_w: int | None = None
    export_power_w: int | None = None
    energy_imported_wh: int | None = None
    energy_exported_wh: int | None = None

    def as_payload(self) -> dict:
        return {key: getattr(self, key) for key in self.__slots__ if getattr(self, key) is not None}


def parse_inventory(endpoint: str, doc: object) -> EnsembleInventory:
    enpowers: list[Enpower] = []
    collars: list[Collar] = []
    counts: list[tuple[str, int]] = []
    for group in object_list(endpoint, doc):
        kind = group.text("type") or ""
        devices = group.objects("devices")
        counts.append((kind, len(devices)))
        if kind == ENPOWER:
            enpowers.extend(_enpower(device) for device in devices)
        elif kind == COLLAR:
            collars.extend(_collar(device) for device in devices)
    return EnsembleInventory(tuple(enpowers), tuple(collars), tuple(counts))


def parse_relay(endpoint: str, doc: object) -> RelayState:
    fields = top_object(endpoint, doc)
    return RelayState(fields.text("mains_oper_state"), fields.text("mains_admin_state"))


def grid_status(inventory: EnsembleInventory | None, relay: RelayState | None) -> str | None:
    if inventory is None:
        return None  # without the inventory we cannot tell whether the relay means anything
    if inventory.enpowers:
        states = [relay.mains_oper_state] if relay is not None else []
        states += [device.mains_oper_state for device in inventory.enpowers]
        found = [RELAY_STATES[s.lower()] for s in states if s and s.lower() in RELAY_STATES]
        if found:
            return found[0]
    found = [COLLAR_STATES[c.admin_state_str] for c in inventory.collars if c.admin_state_str in COLLAR_STATES]
    return found[0] if found else None


def grid_flows(net_power_w: int | None, delivered_wh: int | None, received_wh: int | None) -> dict:
    """Import/export from the net-consumption CT: positive power and "delivered" are import."""
    flows: dict = {"energy_imported_wh": delivered_wh, "energy_exported_wh": received_wh}
    if net_power_w is not None:
        flows["import_power_w"] = max(net_power_w, 0)
        flows["export_power_w"] = max(-net_power_w, 0)
    return flows


def _enpower(fields: Fields) -> Enpower:
    return Enpower(_serial(fields), fields.text("mains_oper_state"), fields.text("mains_admin_state"))


def _collar(fields: Fields) -> Collar:
    return Collar(_serial(fields), fields.text("admin_state_str"))


def _serial(fields: Fields) -> str | None:
    return fields.ident("serial_num") if fields.data.get("serial_num") is not None else None
