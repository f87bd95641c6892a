"""Scenario-level events of the simulated gateway: on demand, at a real-time offset, or daily.

    sim.trigger("grid_outage"); sim.trigger("grid_restore")
    sim.trigger("reboot", refuse_s=60, unavailable_s=60)
    sim.schedule("grid_outage@+30s,grid_restore@+90s,slow:delay_s=3@12:00")

The spec syntax is in `schedule.py`. Durations of refused connections, 503s and slow answers
are in REAL seconds (a client's timeouts and backoff run on real time); the nightly hiccup is
in SIMULATED minutes at 23:00 simulated local time. The fake cloud's events are in cloudevents.py,
the controls' (the cloud reverting a storage mode) in controlevents.py.
"""

from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from bridge.simulator.clock import SimClock
from bridge.simulator.cloudevents import CloudEvents, CloudGateway
from bridge.simulator.controlevents import ControlEvents
from bridge.simulator.faults import Fault
from bridge.simulator.httpd import Request, Response
from bridge.simulator.living import LivingSource
from bridge.simulator.physics import World
from bridge.simulator.scenario import Scenario
from bridge.simulator.schedule import MALFORMED_KINDS, Params, Scheduled, malformed, parse_events
from bridge.simulator.source import Source

log = logging.getLogger(__name__)
NIGHTLY_HOUR = 23.0  # the gateway's own reset (reference §7: daily outage around 23:00 local)
DEVICE_DATA = "/ivp/pdm/device_data"  # the endpoint that hangs in that window
MAX_HANG_S = 85.0  # home-assistant/core#156189: device_data hung up to 85 s


@dataclass
class Conditions:
    """What the gateway is going through right now (real times unless said otherwise)."""

    refuse_until: float | None = None  # listener stopped by a reboot until then
    unavailable_until: float = 0.0  # 503 for everything until then (booting)
    slow_until: float = 0.0
    slow_delay_s: float = 0.0
    nightly_until_sim: float = 0.0  # a hiccup triggered by hand (simulated time)
    malformed_left: int = 0
    malformed_kind: str | None = None
    malformed_served: int = 0
    dark: bool = False  # grid down on a system that cannot island: the gateway has no power
    schedule: list[Scheduled] = field(default_factory=list)


class Gateway(CloudGateway, Protocol):
    """What the events act on: the Simulator, seen without importing it (it imports this)."""

    clock: SimClock
    scenario: Scenario | None
    source: Source

    def revoke_token(self, token: str | None = None) -> None: ...

    def revoke_sessions(self) -> None: ...

    def stop_envoy(self) -> None: ...

    def start_envoy(self) -> None: ...


class Director(CloudEvents, ControlEvents):
    """Runs the events against a Simulator; the EnvoyApp asks it about every request."""

    sim: Gateway

    def __init__(self, sim: Gateway):
        self.sim = sim
        self.clock = sim.clock
        self.nightly_minutes = sim.scenario.nightly_hiccup_minutes if sim.scenario else 0.0
        self.state = Conditions()
        self._lock = threading.RLock()  # guards `state`; held briefly by request threads
        self._run = threading.RLock()  # serialises triggers and ticks (listener start/stop)
        self.history: list[tuple[float, str]] = []  # (real time, event) for views and tests

    # --- events ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return sorted(n[3:] for n in dir(self) if n.startswith("do_"))

    def check(self, name: str, params: Params) -> None:
        handler = getattr(self, f"do_{name}", None)
        if handler is None:
            raise ValueError(f"unknown event {name!r}; events: {', '.join(self.names)}")
        allowed = set(inspect.signature(handler).parameters)
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(
                f"event {name}: unknown parameter(s) {', '.join(unknown)}; "
                f"it takes {', '.join(sorted(allowed)) or 'none'}"
            )
        values = getattr(self, f"check_{name}", None)
        if values is not None:  # its values too, so a bad one fails when scheduled, not when due
            values(**params)

    def trigger(self, name: str, **params: object) -> None:
        self.check(name, params)
        with self._run:
            log.info("simulator event: %s %s", name, params or "")
            getattr(self, f"do_{name}")(**params)
            self.history.append((self.clock.real_now(), name))

    def schedule(self, spec: str) -> list[Scheduled]:
        parsed = parse_events(spec)
        for name, params, _, _ in parsed:
            self.check(name, params)
        added = []
        for name, params, offset, hour in parsed:
            if offset is None and hour is None:
                self.trigger(name, **params)
                continue
            entry = Scheduled(
                name, params, None if offset is None else self.clock.real_now() + offset, hour, self.clock.now()
            )
            added.append(entry)
        with self._lock:
            self.state.schedule.extend(added)
        return added

    def tick(self) -> None:
        """Move timed conditions and scheduled events along; called every 0.1 s by the
        simulator's ticker thread, and directly by tests on a fake clock."""
        with self._run:
            now, sim_now = self.clock.real_now(), self.clock.now()
            with self._lock:
                back = self.state.refuse_until is not None and now >= self.state.refuse_until
            if back:
                self._boot(self._pending_boot_s)
            if self.revert_due(now):
                self.trigger("storage_mode_revert")
            for entry in self._due(now, sim_now):
                self.trigger(entry.name, **entry.params)

    def _due(self, now: float, sim_now: float) -> list[Scheduled]:
        with self._lock:
            due = [entry for entry in self.state.schedule if entry.is_due(now, sim_now, self.clock)]
            self.state.schedule = [e for e in self.state.schedule if not e.done]
        return due

    # --- the events themselves --------------------------------------------------------------

    def _living(self, refusal: str) -> LivingSource:
        source = self.sim.source
        if isinstance(source, LivingSource):
            return source
        raise ValueError(refusal)

    def _source(self) -> Source:
        return self.sim.source

    def _world(self) -> World:
        return self._living("this event needs a living scenario (Simulator(scenario=...)), not a capture").world

    def do_grid_outage(self) -> None:
        world = self._world()
        world.set_grid(False)
        if not world.s.can_island:  # no batteries + System Controller: all goes dark
            with self._lock:
                self.state.dark = True
                self.state.refuse_until = None
            self.sim.revoke_sessions()
            self.sim.stop_envoy()

    def do_grid_restore(self, boot_s: float = 30.0) -> None:
        self._world().set_grid(True)
        with self._lock:
            dark, self.state.dark = self.state.dark, False
        if dark:  # the gateway powers up again: it boots like after a reboot
            self._boot(boot_s)

    def do_reboot(self, refuse_s: float = 60.0, unavailable_s: float = 60.0) -> None:
        self.sim.revoke_sessions()  # sessions live in memory
        self._pending_boot_s = unavailable_s
        if refuse_s <= 0:
            self._boot(unavailable_s)
            return
        with self._lock:
            self.state.refuse_until = self.clock.real_now() + refuse_s
        self.sim.stop_envoy()

    _pending_boot_s = 60.0

    def _boot(self, unavailable_s: float) -> None:
        with self._lock:
            self.state.refuse_until = None
            self.state.unavailable_until = self.clock.real_now() + unavailable_s
        self.sim.start_envoy()

    def do_slow(self, delay_s: float = 5.0, duration_s: float = 60.0) -> None:
        with self._lock:
            self.state.slow_delay_s = delay_s
            self.state.slow_until = self.clock.real_now() + duration_s

    def do_nightly(self, minutes: float | None = None) -> None:
        minutes = minutes if minutes is not None else (self.nightly_minutes or 5.0)
        with self._lock:
            self.state.nightly_until_sim = self.clock.now() + minutes * 60

    def do_revoke_token(self) -> None:
        self.sim.revoke_token()  # every token issued so far: the client needs a new one
        self.sim.revoke_sessions()

    def do_firmware_update(self, version: str | None = None, reboot_s: float = 0.0) -> None:
        source = self._living("firmware_update needs a living scenario, not a capture")
        source.firmware = str(version) if version else source.next_firmware()
        self.sim.revoke_sessions()  # 401 on the old session until check_jwt is called again
        if reboot_s > 0:
            self.do_reboot(refuse_s=reboot_s, unavailable_s=reboot_s)

    def do_malformed(self, count: int = 3, kind: str | None = None) -> None:
        if kind is not None and kind not in MALFORMED_KINDS:
            raise ValueError(f"malformed kind must be one of {', '.join(MALFORMED_KINDS)}")
        with self._lock:
            self.state.malformed_left, self.state.malformed_kind = int(count), kind

    def do_clear(self) -> None:
        """End every timed condition now (not the grid outage: restore that), and a cloud
        that reverts storage writes."""
        self.stop_reverting()
        with self._lock:
            refused = self.state.refuse_until is not None
            dark = self.state.dark
            self.state.refuse_until, self.state.unavailable_until = None, 0.0
            self.state.slow_until = self.state.nightly_until_sim = 0.0
            self.state.malformed_left = 0
        if refused and not dark:
            self.sim.start_envoy()

    @property
    def envoy_down(self) -> bool:
        """Whether the listener should be closed now (no power, or rebooting)."""
        with self._lock:
            return self.state.dark or self.state.refuse_until is not None

    # --- asked by the Envoy app for every request --------------------------------------------

    def nightly_active(self) -> bool:
        sim_now = self.clock.now()
        if sim_now < self.state.nightly_until_sim:
            return True
        if not self.nightly_minutes:
            return False
        hour = self.clock.hour(sim_now)
        return NIGHTLY_HOUR <= hour < NIGHTLY_HOUR + self.nightly_minutes / 60

    def before(self, request: Request) -> Fault | None:
        now = self.clock.real_now()
        with self._lock:
            state = self.state
            if now < state.unavailable_until:
                return Fault(1, status=503)
            slow = state.slow_delay_s if now < state.slow_until else 0.0
        if self.nightly_active():
            if request.path == DEVICE_DATA:
                return Fault(1, delay_s=min(MAX_HANG_S, self._nightly_left_real()), drop=True)
            return Fault(1, status=503)
        return Fault(1, delay_s=slow) if slow else None

    def _nightly_left_real(self) -> float:
        sim_now = self.clock.now()
        end = max(
            self.state.nightly_until_sim,
            self.clock.day_start(sim_now) + (NIGHTLY_HOUR * 60 + self.nightly_minutes) * 60,
        )
        return max(0.1, (end - sim_now) / self.clock.factor)

    def after(self, request: Request, response: Response) -> Response:
        if response.status != 200 or not response.content_type.startswith("application/json"):
            return response
        with self._lock:
            if self.state.malformed_left <= 0:
                return response
            self.state.malformed_left -= 1
            kind = self.state.malformed_kind or MALFORMED_KINDS[self.state.malformed_served % len(MALFORMED_KINDS)]
            self.state.malformed_served += 1
        return malformed(response, kind)

    # --- for views ------------------------------------------------------------------------------

    def describe(self) -> list[str]:
        now = self.clock.real_now()
        with self._lock:
            s = self.state
            active = [
                text
                for cond, text in (
                    (s.dark, "grid down: gateway without power"),
                    (s.refuse_until is not None, "rebooting: connections refused"),
                    (now < s.unavailable_until, "booting: 503 Service Unavailable"),
                    (now < s.slow_until, f"slow answers (+{s.slow_delay_s:g} s)"),
                    (s.malformed_left > 0, f"{s.malformed_left} malformed answers to come"),
                )
                if cond
            ]
        if self.nightly_active():
            active.append("nightly reset (23:00): 503, device_data hangs")
        return active
