"""`LivingSource`: a gateway whose answers come from the physics, not from files.

It answers every endpoint the bridge reads, in the real shapes, computed at the moment of the
request from the scenario and the simulated clock. Firmware can change at run time (the
firmware-update event); everything else follows from the physics.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bridge.simulator import bodies, ctmeters, ensemble, settings
from bridge.simulator.clock import SimClock
from bridge.simulator.physics import World
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot
from bridge.simulator.source import NOT_FOUND

JSON = "application/json"


def _details(query: str) -> bool:
    return "details=1" in query.split("&")


class LivingSource:
    def __init__(self, scenario: Scenario, clock: SimClock):
        self.scenario, self.clock = scenario, clock
        self.world = World(scenario, clock)
        self.firmware = scenario.firmware
        s = scenario
        self.routes: dict[str, Callable[[Snapshot, str], object]] = {
            "/production.json": lambda snap, q: bodies.production_report(s, snap, _details(q)),
            "/production": lambda snap, q: bodies.production_report(s, snap, False),
            "/api/v1/production": lambda snap, q: bodies.api_v1_production(s, snap),
            "/api/v1/production/inverters": lambda snap, q: bodies.inverter_reports(s, snap),
            "/ivp/pdm/device_data": lambda snap, q: bodies.device_data(s, snap),
            "/ivp/meters": lambda snap, q: ctmeters.meters(s) if s.metered else [],
            "/ivp/meters/readings": lambda snap, q: ctmeters.meter_readings(s, snap) if s.metered else [],
            "/ivp/ensemble/inventory": lambda snap, q: ensemble.inventory(s, snap),
            "/ivp/ensemble/relay": lambda snap, q: ensemble.relay(s, snap),
            "/ivp/ensemble/status": lambda snap, q: ensemble.status(s, snap),
            "/ivp/ensemble/secctrl": lambda snap, q: ensemble.secctrl(s, snap),
            "/ivp/ensemble/power": lambda snap, q: ensemble.power(s, snap),
            "/admin/lib/tariff": lambda snap, q: settings.tariff(s, snap),
            "/ivp/ensemble/dry_contacts": lambda snap, q: settings.dry_contacts(s, snap),
            "/ivp/ss/dry_contact_settings": lambda snap, q: settings.dry_contact_settings(s, snap),
            "/home": lambda snap, q: settings.home(s, snap, clock),
            "/home.json": lambda snap, q: settings.home(s, snap, clock),
        }

    @property
    def serial(self) -> str:
        return self.scenario.serial

    def answer(self, path: str, query: str) -> tuple[int, str, bytes]:
        if path == "/info":
            return 200, "text/xml", bodies.info_xml(self.scenario, self.firmware, self.clock.now())
        build = self.routes.get(path)
        if build is None:
            return NOT_FOUND
        body = build(self.world.snapshot(), query)
        return 200, JSON, json.dumps(body, indent=2).encode()

    def next_firmware(self) -> str:
        """What a firmware update brings: the scenario's planned version, then the last number + 1."""
        target = self.scenario.firmware_update_to
        if target and self.firmware == self.scenario.firmware:
            return target
        parts = self.firmware.split(".")
        parts[-1] = str(int(parts[-1]) + 1) if parts[-1].isdigit() else parts[-1] + "1"
        return ".".join(parts)

    def snapshot(self) -> Snapshot:
        return self.world.snapshot()
