"""The living gateway's write endpoints (reference §1, the controls contract): each checks its
body (writebodies.py), changes the controls through the physics (so the past stays integrated
under the old settings) and answers what the reference says a real gateway answers.

    PUT    /admin/lib/tariff              storage mode, reserve, charge from grid
    POST   /ivp/ensemble/relay            the System Controller's mains relay (island / reconnect)
    POST   /ivp/ensemble/dry_contacts     one dry-contact relay open / closed
    POST   /ivp/ss/dry_contact_settings   one relay's complete settings
    PUT    /admin/lib/acb_config          AC Batteries to sleep; DELETE wakes them
    POST   /ivp/ss/gen_mode               the generator on / off / auto
    PUT    /ivp/mod/<EID>/mode/power      production forced off / allowed (installer token only)

Known paths with another method, and unknown paths, answer 405.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bridge.simulator import ensemble, generator, writebodies
from bridge.simulator.clock import SimClock
from bridge.simulator.controls import Controls, acb_serials
from bridge.simulator.physics import World
from bridge.simulator.scenario import Scenario
from bridge.simulator.source import NOT_FOUND

JSON = "application/json"
Answer = tuple[int, str, bytes]
METHOD_NOT_ALLOWED = (405, JSON, json.dumps({"status": 405, "error": "Method Not Allowed"}).encode())
TARIFF, RELAY, DRY, DRY_SETTINGS = (
    "/admin/lib/tariff",
    "/ivp/ensemble/relay",
    "/ivp/ensemble/dry_contacts",
    "/ivp/ss/dry_contact_settings",
)
ACB_CONFIG, GEN_MODE = "/admin/lib/acb_config", "/ivp/ss/gen_mode"
GEN_CONFIG, GENERATOR = "/ivp/ss/gen_config", "/ivp/ensemble/generator"
ENVOY_EID = "603980032"  # the gateway's own device id in /ivp/mod paths (reference §1.6)
PRODUCTION_POWER = re.compile(r"/ivp/mod/(\d+)/mode/power")


def ok(body: object) -> Answer:
    return 200, JSON, json.dumps(body, indent=2).encode()


def bad_request(message: str) -> Answer:
    return 400, JSON, json.dumps({"status": 400, "error": "Bad Request", "message": message}).encode()


class Writes:
    def __init__(self, scenario: Scenario, world: World, clock: SimClock):
        self.s, self.world, self.clock = scenario, world, clock
        self.controls: Controls = world.controls
        self.routes: dict[tuple[str, str], Callable[[bytes], Answer]] = {
            ("PUT", TARIFF): self._tariff,
            ("POST", RELAY): self._mains,
            ("POST", DRY): self._relay,
            ("POST", DRY_SETTINGS): self._relay_settings,
            ("PUT", ACB_CONFIG): self._acb_sleep,
            ("DELETE", ACB_CONFIG): self._acb_wake,
            ("POST", GEN_MODE): self._gen_mode,
        }

    @staticmethod
    def installer_only(path: str) -> bool:
        return PRODUCTION_POWER.fullmatch(path) is not None

    def handle(self, method: str, path: str, body: bytes) -> Answer:
        if self.installer_only(path):
            return self._production(method, path, body)
        route = self.routes.get((method, path.removesuffix(".json")))
        if route is None:
            return METHOD_NOT_ALLOWED
        try:
            return route(body)
        except writebodies.BadBody as refusal:
            return bad_request(str(refusal))

    # --- the reads that only the controls know ---------------------------------------------

    def read(self, path: str, on_grid: bool) -> Answer | None:
        """The body of a GET served from the controls; None when it is not one of them."""
        c, path = self.controls, path.removesuffix(".json")
        if path == TARIFF:
            return ok(c.tariff_document())
        if path == DRY:
            shed = c.open_relays(on_grid)
            return ok(
                {"dry_contacts": [{"id": rid, "status": "open" if rid in shed else "closed"} for rid in c.relay_status]}
            )
        if path == DRY_SETTINGS:
            return ok({"dry_contacts": list(c.relay_settings.values())})
        if path == ACB_CONFIG:
            return ok(self._acb_document()) if self.s.acb is not None else NOT_FOUND
        if path in (GEN_MODE, GEN_CONFIG, GENERATOR):
            return self._generator(path, on_grid) if self.s.generator else NOT_FOUND
        if self.installer_only(path):
            return self._production("GET", path, b"")
        return None

    # --- the writes -------------------------------------------------------------------------

    def _tariff(self, body: bytes) -> Answer:
        battery = self.s.installed_battery
        tariff = writebodies.tariff(body, battery is not None)
        storage = tariff.get("storage_settings")
        if battery is not None and isinstance(storage, dict):
            if storage["reserved_soc"] < battery.very_low_soc:
                raise writebodies.BadBody("storage_settings.reserved_soc below very_low_soc")
            storage["very_low_soc"] = round(battery.very_low_soc)  # not writable: the gateway keeps its own
        self.world.change(lambda: self.controls.replace_tariff(tariff, self.clock.real_now()))
        return ok(self.controls.tariff_document())

    def _mains(self, body: bytes) -> Answer:
        if not self.s.has_enpower:
            raise writebodies.BadBody("no IQ System Controller")
        closed = writebodies.mains(body)
        self.world.change(lambda: setattr(self.controls, "mains_closed", closed))
        return ok(ensemble.relay(self.s, self.world.snapshot()))

    def _relay(self, body: bytes) -> Answer:
        rid, status = writebodies.relay_status(body)
        self.world.change(lambda: self.controls.relay_status.__setitem__(rid, status))
        return self.read(DRY, self.world.on_grid) or NOT_FOUND

    def _relay_settings(self, body: bytes) -> Answer:
        relay = writebodies.relay_settings(body, self.controls.relay_settings)
        self.world.change(lambda: self.controls.relay_settings.__setitem__(relay["id"], relay))
        return self.read(DRY_SETTINGS, self.world.on_grid) or NOT_FOUND

    def _acb_sleep(self, body: bytes) -> Answer:
        if self.s.acb is None:
            return NOT_FOUND
        asked = writebodies.acb_sleep(body, acb_serials(self.s), window=True)
        self.world.change(lambda: self.controls.acb_sleep.update(asked))
        return ok(_acb_entries(asked))

    def _acb_wake(self, body: bytes) -> Answer:
        if self.s.acb is None:
            return NOT_FOUND
        asked = writebodies.acb_sleep(body, acb_serials(self.s), window=False)
        self.world.change(lambda: self.controls.wake(list(asked)))
        return ok({"message": "success"})

    def _acb_document(self) -> dict[str, Any]:
        return _acb_entries(self.controls.sleeping())

    def _gen_mode(self, body: bytes) -> Answer:
        if not self.s.generator:
            return NOT_FOUND
        command = writebodies.gen_mode(body)
        self.world.change(lambda: setattr(self.controls, "gen_cmd", command))
        return self.read(GEN_MODE, True) or NOT_FOUND

    def _generator(self, path: str, on_grid: bool) -> Answer:
        gen_cmd = self.controls.gen_cmd
        if path == GEN_CONFIG:
            return ok(generator.config())
        if path == GENERATOR:
            return ok(generator.status(gen_cmd, on_grid))
        return ok({"gen_cmd": gen_cmd, "last_updated_by": "ITK"})

    def _production(self, method: str, path: str, body: bytes) -> Answer:
        match = PRODUCTION_POWER.fullmatch(path)
        if match is None or match.group(1) != ENVOY_EID:
            return NOT_FOUND
        if method == "PUT":
            try:
                off = writebodies.production_power(body)
            except writebodies.BadBody as refusal:
                return bad_request(str(refusal))
            self.world.change(lambda: setattr(self.controls, "production_forced_off", off))
        elif method != "GET":
            return METHOD_NOT_ALLOWED
        return ok({"powerForcedOff": self.controls.production_forced_off})


def _acb_entries(sleeping: dict[str, tuple[int, int]]) -> dict[str, Any]:
    return {
        "acb_sleep": [
            {"serial_num": serial, "sleep_min_soc": low, "sleep_max_soc": high}
            for serial, (low, high) in sorted(sleeping.items())
        ]
    }
