"""`LivingSource`: a gateway whose answers come from the physics, not from files.

It answers every endpoint the bridge reads, in the real shapes, computed at the moment of the
request from the scenario and the simulated clock. Firmware can change at run time (the
firmware-update event); everything else follows from the physics and the controls. Its writes
are the live stream switch (POST /ivp/livedata/stream), served with the live status on firmware
7+ when the scenario has `livedata` (every built-in one with CTs or batteries), and the controls
of writes.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from bridge.simulator import bodies, ctmeters, ensemble, inventory, livedata, settings
from bridge.simulator.clock import SimClock
from bridge.simulator.physics import World
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot
from bridge.simulator.source import NOT_FOUND
from bridge.simulator.stream import LiveStream
from bridge.simulator.writes import Writes

JSON = "application/json"
FIRST_TOKEN_FIRMWARE = 7  # the live-data handler came with token firmware (reference §2.1)


def _details(query: str) -> bool:
    return "details=1" in query.split("&")


def _major(firmware: str) -> int:
    digits = re.match(r"\d+", firmware)
    return int(digits.group()) if digits else 0


class LivingSource:
    def __init__(self, scenario: Scenario, clock: SimClock):
        self.scenario, self.clock = scenario, clock
        self.world = World(scenario, clock)
        self.writes = Writes(scenario, self.world, clock)
        self.firmware = scenario.firmware
        s = scenario
        self.stream = LiveStream(
            clock,
            lambda t: livedata.meters(s, self.world.snapshot(t)),
            s.livedata_stream_timeout_s,
            frozen=s.livedata_when_disabled == "frozen",
        )
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
            "/home": lambda snap, q: settings.home(s, snap, clock),
            "/home.json": lambda snap, q: settings.home(s, snap, clock),
        }
        if s.acb is not None:  # the per-device inventory, for the AC Batteries' sleep settings
            sleeping = self.world.controls.sleeping
            self.routes["/inventory.json"] = lambda snap, q: inventory.devices(s, snap, sleeping())

    @property
    def serial(self) -> str:
        return self.scenario.serial

    def answer(self, path: str, query: str) -> tuple[int, str, bytes]:
        if path == "/info":
            return 200, "text/xml", bodies.info_xml(self.scenario, self.firmware, self.clock.now())
        if path == livedata.STATUS_PATH:
            return self._live_status() if self.serves_livedata else NOT_FOUND
        build = self.routes.get(path)
        if build is None:
            return self.writes.read(path, self.world.on_grid) or NOT_FOUND
        body = build(self.world.snapshot(), query)
        return 200, JSON, json.dumps(body, indent=2).encode()

    @property
    def serves_livedata(self) -> bool:
        return self.scenario.livedata and _major(self.firmware) >= FIRST_TOKEN_FIRMWARE

    def _live_status(self) -> tuple[int, str, bytes]:
        enabled, block = self.stream.read()
        body = livedata.status(block, enabled, self.stream.status_reads, self.stream.stream_requests)
        return 200, JSON, json.dumps(body, indent=2).encode()

    def installer_only(self, path: str) -> bool:
        return self.writes.installer_only(path)

    def write(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        """The controls (writes.py), and the live stream switch."""
        if (method, path) != ("POST", livedata.STREAM_PATH):
            return self.writes.handle(method, path, body)
        return self._stream(body)

    def _stream(self, body: bytes) -> tuple[int, str, bytes]:
        """{"enable": 1 | 0} switches the live stream; 400 for anything else, and for enabling
        a stream that is already on."""
        if not self.serves_livedata:
            return NOT_FOUND
        enable = livedata.stream_request(body)
        if enable is None:
            return 400, JSON, livedata.bad_request('expected {"enable": 1} or {"enable": 0}')
        if not self.stream.switch(bool(enable)):
            return 400, JSON, livedata.bad_request("live stream already enabled")
        return 200, JSON, livedata.stream_reply(bool(enable))

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
