"""Grid status and grid import/export.

Status sources, in the reference's priority order (§3, design implication 11):
the Enpower relay `mains_oper_state` (closed = on grid), from `/ivp/ensemble/relay` or the
ENPOWER device of `/ivp/ensemble/inventory`; then the IQ Meter Collar's `admin_state_str`;
last, on a gateway without the relay endpoint, the live data's `main_relay_state` (§2.1:
1 closed, 0 open; 13, no system controller, says nothing).
Ignored on purpose: `Enpwr_grid_mode` (still "multimode-ongrid" while on generator), the
collar's `grid_state` (does not follow the real state) and the relay endpoint on gateways
without an Enpower (always reads "closed").
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.payload import Document
from bridge.model.parse.ensemble import Collar, EnsembleInventory
from bridge.model.parse.relay import RelayState

ON_GRID, OFF_GRID = "on_grid", "off_grid"
RELAY_STATES = {"closed": ON_GRID, "open": OFF_GRID}
COLLAR_STATES = {"ENCMN_MDE_ON_GRID": ON_GRID, "ENCMN_MDE_OFF_GRID": OFF_GRID}
MAIN_RELAY_STATES = {1: ON_GRID, 0: OFF_GRID}


@dataclass(frozen=True, slots=True)
class GridState(Document):
    status: str | None = None  # "on_grid" / "off_grid"
    import_power_w: int | None = None
    export_power_w: int | None = None
    energy_imported_wh: int | None = None
    energy_exported_wh: int | None = None


def grid_status(
    inventory: EnsembleInventory | None, relay: RelayState | None, main_relay_state: int | None = None
) -> str | None:
    found = _ensemble_status(inventory, relay)
    if found is None and relay is None and main_relay_state is not None:
        return MAIN_RELAY_STATES.get(main_relay_state)
    return found


def _ensemble_status(inventory: EnsembleInventory | None, relay: RelayState | None) -> str | None:
    if inventory is None:
        return None  # without the inventory we cannot tell whether the relay means anything
    if inventory.enpowers:
        states = [relay.mains_oper_state] if relay is not None else []
        states += [device.mains_oper_state for device in inventory.enpowers]
        found = [status for s in states if (status := relay_status(s))]
        if found:
            return found[0]
    found = [status for c in inventory.collars if (status := collar_status(c))]
    return found[0] if found else None


def relay_status(oper_state: str | None) -> str | None:
    """The Enpower relay: closed = on grid, open = off grid (islanded or on generator)."""
    return RELAY_STATES.get(oper_state.lower()) if oper_state else None


def collar_status(collar: Collar) -> str | None:
    """The collar's `admin_state_str` is authoritative; its `grid_state` does not follow."""
    return COLLAR_STATES.get(collar.unit.admin_state or "")


def grid_flows(net_power_w: int | None, delivered_wh: int | None, received_wh: int | None) -> dict[str, int | None]:
    """Import/export from the net-consumption CT: positive power and "delivered" are import."""
    flows: dict[str, int | None] = {"energy_imported_wh": delivered_wh, "energy_exported_wh": received_wh}
    if net_power_w is not None:
        flows["import_power_w"] = max(net_power_w, 0)
        flows["export_power_w"] = max(-net_power_w, 0)
    return flows
