"""EnvoyWorker: the polling loop of one gateway, its availability and its backoff.

One worker (one thread) per gateway, so a hung gateway never delays another, and requests to
one gateway are strictly one at a time. The worker does I/O and scheduling only: each cycle
ends in a snapshot (and availability events) handed to its sinks, which turn it into output.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from bridge import __version__, model
from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.config import Config, GatewayConfig
from bridge.errors import AuthError, BridgeError, EnvoyDataError, EnvoyError, EnvoyUnavailable, TLSPinError
from bridge.gateway.client import EnvoyClient
from bridge.gateway.energy import ComputedEnergy, ct_types_of
from bridge.gateway.schedule import GROUPS, Schedule, group_endpoints
from bridge.model.guard import STATE, CounterGuard, Guarded, log_lines
from bridge.model.snapshot import Availability, Snapshot
from bridge.sinks import FanOut

log = logging.getLogger(__name__)

# Full-jitter backoff while the gateway is unreachable: first retry within 10 s, then doubling
# up to 5 min, so a rebooting gateway (or the nightly 23:00 reset) is not hammered.
BACKOFF_BASE_S, BACKOFF_CAP_S, BACKOFF_MIN_S = 10.0, 300.0, 2.0
RETRY_SHARE = 0.8
# The first candidate endpoints (/ivp/meters, readings, production.json) answer any valid
# token; when this many of them refuse it, setup stops probing and renews the token.
REFUSALS_MEAN_BAD_TOKEN = 3


class EnvoyWorker:
    def __init__(
        self,
        gateway: GatewayConfig,
        config: Config,
        sinks: FanOut,
        *,
        client: EnvoyClient | None = None,
        cloud: EnphaseCloud | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.gateway, self.config, self.sinks = gateway, config, sinks
        # `cloud` is shared by every worker of a bridge (serialised logins, one per account).
        self.client = client or EnvoyClient(
            gateway,
            cloud or EnphaseCloud(config.cloud),
            TokenStore.for_gateway(gateway),
        )
        # Retries stay inside the fastest poll interval; longer outages are the backoff's job.
        # (The one-second grid poll is left out: its misses are simply retried a second later.)
        self.client.retry_budget_s = RETRY_SHARE * min(getattr(config.poll, g) for g in GROUPS if g != "grid")
        self._monotonic, self._wall, self._rng = monotonic, wall, rng
        self.info: model.GatewayInfo | None = None  # None until the first setup
        self.generation = 0  # setups so far: after each, the sinks forget what the gateway lost
        self.groups: dict[str, tuple[str, ...]] = {}
        self.parsed: dict[str, Any] = {}
        self.available: bool | None = None
        self.failures = 0
        self.info_needs_setup = True
        self._bad_endpoints: set[str] = set()
        self._grid_status: str | None = None  # as last given to the sinks: is the relay's answer news?
        self._stop: threading.Event | None = None  # set by run(): the bridge is shutting down
        self.schedule = Schedule.starting_at(config.poll, monotonic())
        self.diagnostics: dict[str, Any] = {"bridge_version": __version__, "errors": 0}
        self.counters = CounterGuard()  # the energy counters' last good values, across cycles
        self.energy = ComputedEnergy(gateway, config.energy, config.poll)  # counters the gateway lacks, integrated here

    @property
    def serial(self) -> str:
        return self.info.serial if self.info else (self.gateway.serial or self.gateway.host)

    # --- setup: /info, auth, probing ----------------------------------------------------

    def setup(self) -> None:
        """Read /info, authenticate, and probe which endpoints this gateway has."""
        info = self.client.fetch_info()
        if self.info and info.firmware != self.info.firmware:
            log.info(
                "Gateway %s: firmware changed from %s to %s; probing endpoints again",
                info.serial,
                self.info.firmware,
                info.firmware,
            )
        self.info = info
        probed: dict[str, Any] = {}
        refused: list[str] = []
        candidates = list(model.CANDIDATE_ENDPOINTS)
        while candidates:
            endpoint = candidates.pop(0)
            parsed = self._probe(endpoint, refused)
            if parsed is not None:
                probed[endpoint] = parsed
            elif refused and not probed and (len(refused) >= REFUSALS_MEAN_BAD_TOKEN or not candidates):
                # Everything so far refused us, and the first candidates answer any valid token:
                # the token itself is the problem. A normal read goes through a new session and
                # a token renewal, or says why not; then the others are probed with the good
                # token. Probing on with a refused token would cost ~50 requests per retry.
                target = refused.pop()
                probed[target] = self._read(target)
                candidates, refused = refused + candidates, []
        active = model.select_endpoints(info, probed)
        self.parsed = {ep: parsed for ep, parsed in probed.items() if ep in active}
        self.groups = group_endpoints(active, model.grid_endpoint(self.parsed))
        self.generation += 1
        log.info(
            "Gateway %s (firmware %s): polling %s", info.serial, info.firmware, ", ".join(sorted(active)) or "nothing"
        )
        self.schedule = Schedule.starting_at(self.config.poll, self._monotonic())
        for group in GROUPS:  # the probe just read everything once
            self.schedule.done(group, self._monotonic())
            if not self.groups[group] and group != "info":  # info also re-reads /info
                self.schedule.disable(group)

    def _probe(self, endpoint: str, refused: list[str]) -> Any:
        """Parsed body, or None when the gateway lacks this endpoint or answers nonsense."""
        try:
            return self._read(endpoint, probing=True)
        except (EnvoyUnavailable, AuthError, TLSPinError):
            raise
        except EnvoyError as err:  # 404, 401 on an optional endpoint, bad data: absent
            if getattr(err, "status", None) in (401, 403):
                refused.append(endpoint)
            log.debug("Gateway %s: %s is not available here (%s)", self.serial, endpoint, err)
            return None

    def _read(self, endpoint: str, probing: bool = False) -> Any:
        body = self.client.get(endpoint, probing=probing)
        return model.ENDPOINTS[endpoint](model.decode_json(endpoint, body))

    # --- one cycle ----------------------------------------------------------------------

    def poll_group(self, group: str) -> None:
        """Read every endpoint of one group; a data error drops that endpoint's data only.

        Between two endpoints of a slow group the grid relay gets its turn when it is due:
        /production.json can take seconds on a real gateway, an outage alert cannot wait.
        """
        if group == "info":
            self._check_firmware()
        for endpoint in self.groups.get(group, ()):
            try:
                self.parsed[endpoint] = self._read(endpoint)
            except EnvoyDataError as err:
                self.parsed.pop(endpoint, None)  # never publish stale data as if fresh
                self._note_bad_endpoint(endpoint, err)
            else:
                self._note_good_endpoint(endpoint)
            if group != "grid":
                self._poll_grid_if_due()

    def _poll_grid_if_due(self) -> None:
        if self.groups.get("grid") and self.schedule.next_due["grid"] <= self._monotonic():
            self._poll_grid()

    def _poll_grid(self) -> bool:
        """Read the grid relay; a new grid status goes to the sinks at once. True when it changed."""
        self.poll_group("grid")
        self.schedule.done("grid", self._monotonic())
        status = model.grid_status_of(self.parsed)
        if status is None or status == self._grid_status:
            return False
        self._grid_status = status
        self.sinks.grid_status(self.serial, status)
        return True

    def _check_firmware(self) -> None:
        info = self.client.fetch_info()
        if self.info is None or (info.serial, info.firmware) != (self.info.serial, self.info.firmware):
            self.setup()
        self.client.maybe_renew_token()

    def _note_bad_endpoint(self, endpoint: str, err: Exception, what: str = "") -> None:
        self.diagnostics["errors"] += 1
        if endpoint not in self._bad_endpoints:
            self._bad_endpoints.add(endpoint)
            log.warning("Gateway %s: %s: %s", self.serial, what or f"bad data from {endpoint}, skipping it", err)

    def _note_good_endpoint(self, endpoint: str) -> None:
        if endpoint in self._bad_endpoints:
            self._bad_endpoints.discard(endpoint)
            log.info("Gateway %s: %s gives valid data again", self.serial, endpoint)

    # --- the snapshot ---------------------------------------------------------------------

    def deliver(self, started: float, live: Mapping[str, Any] | None = None) -> bool:
        """Hand this cycle's snapshot to the sinks; False when the gateway gave nothing usable.
        `live`: this cycle's live document (docs/mqtt.md), the computed counters' best power."""
        info = self.info
        if info is None:
            return False  # never set up: nothing to say yet
        polled_at = self._wall()
        try:
            state = model.build_state(info, self.parsed, polled_at)
        except EnvoyDataError as err:
            self._note_bad_endpoint("state", err, "no usable data")
            return False
        self._note_good_endpoint("state")
        self._grid_status = state.grid_status or self._grid_status
        documents = Snapshot.documents_of(state)
        ct_types = ct_types_of(self.parsed, self.groups)
        self.energy.add_to(documents[STATE], info.serial, ct_types, live, polled_at, self._monotonic())
        guarded = self.counters.apply(info.serial, documents, self._monotonic())
        self._log_counters(guarded)
        diagnostics = self._diagnostics(info, started, polled_at)
        snapshot = Snapshot.of(info, state, diagnostics, polled_at, self.generation, guarded)
        self.sinks.cycle(snapshot, self._availability_events(True))
        return True

    def _diagnostics(self, info: model.GatewayInfo, started: float, now: float) -> dict[str, Any]:
        """The bridge's own view of the gateway: errors so far, this poll, the token."""
        token = self.client.token_info
        self.diagnostics.update(
            {
                "serial": info.serial,
                "firmware": info.firmware,
                "last_poll": round(now),
                "poll_duration_s": round(self._monotonic() - started, 3),
                "counter_glitches": self.counters.glitches,
                "counter_wraps": self.counters.wraps,
            }
        )
        if self.energy.gaps is not None:
            self.diagnostics["computed_energy_gaps"] = self.energy.gaps
        if token is not None:
            self.diagnostics.update(
                {
                    "token_type": token.user_type,
                    "token_source": self.client.token_source,
                    "token_flow": self.client.token_flow,
                    "token_expires": round(token.expires_at),
                    "token_days_left": round(token.days_left(now), 1),
                }
            )
        self.diagnostics["token_renewal_error"] = self.client.last_renewal_error
        return dict(sorted(self.diagnostics.items()))

    def _log_counters(self, guarded: Guarded) -> None:
        """One line per kind of counter event in this cycle, however many counters had one."""
        for loud, text in log_lines(guarded.events):
            log.log(logging.WARNING if loud else logging.INFO, "Gateway %s: %s", self.serial, text)

    def _availability_events(self, available: bool, reason: BaseException | None = None) -> tuple[Availability, ...]:
        """The availability event when it changed, for the sinks; none when it did not."""
        if available == self.available:
            return ()
        self.available = available
        return (Availability(self.serial, available, None if reason is None else str(reason)),)

    def _fail(self, err: BridgeError) -> None:
        """Mark the gateway offline and back off; setup runs again on the next attempt,
        because an outage is often a reboot or a firmware update."""
        if self._stop is not None and self._stop.is_set():
            return  # a request cut by the shutdown: not the gateway's fault, nothing to report
        self.diagnostics["errors"] += 1
        for event in self._availability_events(False, err):
            self.sinks.availability(event)
        self.failures += 1
        self.info_needs_setup = True
        # The exponent is capped: after ~1000 failures (two days away) 2**n no longer fits a float.
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(self.failures - 1, 16))
        delay = max(BACKOFF_MIN_S, self._rng(0, ceiling))
        log.debug("Gateway %s: next attempt in %.0f s", self.serial, delay)
        self.schedule.delay_all(self._monotonic() + delay)

    # --- loops --------------------------------------------------------------------------

    def run_once(self) -> None:
        """One full read of every endpoint and one snapshot; raises the first fatal error."""
        started = self._monotonic()
        try:
            self.setup()
        except BridgeError as err:
            self._fail(err)
            raise
        if not self.deliver(started):
            raise EnvoyDataError(f"gateway {self.serial} gave no usable data")

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        while not stop.is_set():
            self._step()
            stop.wait(self.schedule.seconds_to_next(self._monotonic()))
        self.energy.save(self._monotonic())

    def _step(self) -> None:
        started = self._monotonic()
        try:
            if self._poll_due(started):
                self.failures = 0
                self.deliver(started)
        except BridgeError as err:
            self._fail(err)
        except Exception:  # noqa: BLE001 - a bug (here or in a parser) must not kill the gateway's thread
            self._internal_error()

    def _poll_due(self, started: float) -> bool:
        """Set up, or read the groups that are due; True when there is a new cycle to deliver."""
        if self.info_needs_setup:
            self.setup()
            self.info_needs_setup = False
            return True
        groups_run = self.schedule.due(started)
        if groups_run == ["grid"]:
            return self._poll_grid()  # the relay alone: a full cycle only when it said something new
        for group in groups_run:
            if self.schedule.next_due[group] > started:
                continue  # the grid relay, already read between an earlier group's endpoints
            self.poll_group(group)
            self.schedule.done(group, self._monotonic())
        return bool(groups_run)

    def _internal_error(self) -> None:
        # The traceback once per outage, like any other error; the rest at DEBUG.
        level = logging.DEBUG if self.available is False else logging.ERROR
        log.log(level, "Gateway %s: unexpected error", self.serial, exc_info=True)
        self._fail(EnvoyError("internal error, see the log"))
