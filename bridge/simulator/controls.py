"""What the living gateway's owner (or installer) has set: the storage settings inside the
tariff, the System Controller's mains relay, the dry-contact relays and their settings, AC
Battery sleep, the generator mode and production forced off. The physics reads it; the write
endpoints (writes.py) change it. Thread-safe; changes that alter the physics go through
`World.change` so the past stays integrated under the old settings.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from bridge.simulator import settings
from bridge.simulator.scenario import Scenario

SAVINGS_PEAK_HOURS = (7.0, 23.0)  # the built-in tariff's dear period (period_1, 07:00-23:00)
SAVINGS_MODES = ("economy", "savings-mode")  # today's name, and the legacy one (reference §1.1.1)


@dataclass(frozen=True)
class StoragePolicy:
    """How the batteries may behave right now: discharge to `floor_pct`, or not at all; charge
    from the grid up to `grid_charge_to_pct` (None: from solar surplus only)."""

    may_discharge: bool
    floor_pct: float
    grid_charge_to_pct: float | None


def acb_serials(s: Scenario) -> list[str]:
    b = s.acb
    if b is None:
        return []
    return [f"{b.serial_prefix}{(s.seed * 41 + u * 11) % 100000:05d}"[:12] for u in range(b.units)]


class Controls:
    def __init__(self, scenario: Scenario):
        self.s = scenario
        self.lock = threading.RLock()  # World.change holds it while a write changes anything
        self.tariff: dict[str, Any] = settings.tariff(scenario)["tariff"]
        self.mains_closed = True
        self.relay_status = dict.fromkeys(settings.DRY_CONTACTS, "closed")
        self.relay_settings = {r["id"]: r for r in settings.dry_contact_settings()["dry_contacts"]}
        self.acb_sleep: dict[str, tuple[int, int]] = {}
        self.gen_cmd = "off"
        self.production_forced_off = False
        self.revert_after_s: float | None = None  # the cloud reverts local storage writes this long after
        self.revert_due: float | None = None  # real time of the next cloud revert

    # --- storage ---------------------------------------------------------------------------

    def storage(self) -> dict[str, Any] | None:
        with self.lock:
            stored = self.tariff.get("storage_settings")
            return dict(stored) if isinstance(stored, dict) else None

    def tariff_document(self) -> dict[str, Any]:
        with self.lock:
            return {"tariff": copy.deepcopy(self.tariff), "schedule": settings.schedule(self.tariff)}

    def replace_tariff(self, tariff: dict[str, Any], real_now: float) -> None:
        """A local write; with a cloud that reverts (the storage_mode_revert event's `after_s`),
        a storage setting that differs from the cloud's copy is reverted `after_s` later."""
        with self.lock:
            self.tariff = copy.deepcopy(tariff)
            if self.revert_after_s is not None and self._differs_from_cloud():
                self.revert_due = real_now + self.revert_after_s

    def _differs_from_cloud(self) -> bool:
        configured, stored = self._configured_storage(), self.storage()
        keys = ("mode", "reserved_soc", "charge_from_grid")
        return configured is not None and stored is not None and any(configured[k] != stored[k] for k in keys)

    def _configured_storage(self) -> dict[str, Any] | None:
        storage: dict[str, Any] | None = settings.tariff(self.s)["tariff"].get("storage_settings")
        return storage

    def revert_storage(self, date: str) -> None:
        """What the Enlighten cloud does (reference §1.1.5): its own storage settings back, with
        a tariff date the client did not write."""
        configured = self._configured_storage()
        with self.lock:
            if configured is not None:
                self.tariff["storage_settings"] = configured
            self.tariff["date"] = date
            self.revert_due = None

    def revert_is_due(self, real_now: float) -> bool:
        with self.lock:
            return self.revert_due is not None and real_now >= self.revert_due

    def reserve_pct(self) -> float | None:
        storage = self.storage()
        return float(storage["reserved_soc"]) if storage is not None else None

    def policy(self, on_grid: bool, hour: float) -> StoragePolicy:
        b = self.s.installed_battery
        very_low = b.very_low_soc if b is not None else 0.0
        storage = self.storage()
        if not on_grid or storage is None:  # islanded: carry the house to the very-low limit
            return StoragePolicy(True, very_low, None)
        mode, reserve, from_grid = storage["mode"], float(storage["reserved_soc"]), storage["charge_from_grid"]
        if mode == "backup":  # hold the charge for an outage; top it up from the grid if allowed
            return StoragePolicy(False, reserve, 100.0 if from_grid else None)
        peak = SAVINGS_PEAK_HOURS[0] <= hour < SAVINGS_PEAK_HOURS[1]
        may_discharge = mode not in SAVINGS_MODES or peak
        return StoragePolicy(may_discharge, reserve, reserve if from_grid else None)

    # --- relays, batteries, generator, production --------------------------------------------

    def open_relays(self, on_grid: bool) -> list[str]:
        """Relays that feed nothing now: opened by command, or shed by their settings' action
        for the present grid state (`grid_action` on grid, `micro_grid_action` off grid)."""
        action = "grid_action" if on_grid else "micro_grid_action"
        with self.lock:
            return [
                rid
                for rid, status in self.relay_status.items()
                if status == "open" or self.relay_settings[rid][action] == "shed"
            ]

    def shed_share(self, on_grid: bool) -> float:
        loads = self.s.relay_loads
        return min(1.0, sum(loads.get(rid, 0.0) for rid in self.open_relays(on_grid)))

    def relays(self, on_grid: bool) -> dict[str, Any]:
        """/ivp/ensemble/dry_contacts: every relay's status as it is now."""
        shed = self.open_relays(on_grid)
        with self.lock:
            return {"dry_contacts": [{"id": r, "status": "open" if r in shed else "closed"} for r in self.relay_status]}

    def relay_settings_document(self) -> dict[str, Any]:
        with self.lock:
            return {"dry_contacts": copy.deepcopy(list(self.relay_settings.values()))}

    def sleeping(self) -> dict[str, tuple[int, int]]:
        with self.lock:
            return dict(self.acb_sleep)

    def wake(self, serials: list[str]) -> None:
        with self.lock:
            for serial in serials:
                self.acb_sleep.pop(serial, None)

    def awake_share(self) -> float:
        """The share of AC Batteries not asleep (IQ Batteries never sleep here)."""
        b = self.s.acb
        if b is None:
            return 1.0
        with self.lock:
            asleep = sum(1 for serial in acb_serials(self.s) if serial in self.acb_sleep)
        return (b.units - asleep) / b.units
