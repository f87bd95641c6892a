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
from bridge.errors import BridgeError, EnvoyDataError, EnvoyError
from bridge.gateway import diagnostics as gateway_diagnostics
from bridge.gateway.bad_data import BadData
from bridge.gateway.client import EnvoyClient
from bridge.gateway.energy import ComputedEnergy, ct_types_of
from bridge.gateway.jobs import Jobs
from bridge.gateway.live import LiveStream
from bridge.gateway.probe import probe
from bridge.gateway.relay_watch import RelayWatch, live_relay_state, relay_watched
from bridge.gateway.schedule import FAST_GROUPS, GROUPS, Schedule, grid_read, group_endpoints
from bridge.model.guard import STATE, CounterGuard, Guarded, log_lines
from bridge.model.snapshot import Availability, Snapshot
from bridge.sinks import FanOut

log = logging.getLogger(__name__)

# Full-jitter backoff while the gateway is unreachable: first retry within 10 s, then doubling
# up to 5 min, so a rebooting gateway (or the nightly 23:00 reset) is not hammered.
BACKOFF_BASE_S, BACKOFF_CAP_S, BACKOFF_MIN_S = 10.0, 300.0, 2.0
RETRY_SHARE = 0.8
# The live data first (they may vouch for the relay), then the relay, the slow groups, and the
# meters last: what changes fastest is read closest to its publication (the slow groups before
# them take seconds on a real gateway).
READING_ORDER = {"live": 0, "grid": 1, "energy": 2, "inverters": 2, "batteries": 2, "info": 2, "meters": 3}


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
        refresh_s: Mapping[str, float] = model.REFRESH_S,
    ) -> None:
        self.gateway, self.config, self.sinks = gateway, config, sinks
        # `cloud` is shared by every worker of a bridge (serialised logins, one per account).
        self.client = client or EnvoyClient(
            gateway,
            cloud or EnphaseCloud(config.cloud),
            TokenStore.for_gateway(gateway),
        )
        # Retries stay inside the fastest poll interval; longer outages are the backoff's job.
        # (The grid and live polls are left out: their misses are simply retried a second later.)
        self.client.retry_budget_s = RETRY_SHARE * min(config.poll.interval(g) for g in GROUPS if g not in FAST_GROUPS)
        self._monotonic, self._wall, self._rng = monotonic, wall, rng
        self._refresh_s = refresh_s  # how often the gateway itself refreshes an endpoint (tests: faster)
        self.info: model.GatewayInfo | None = None  # None until the first setup
        self.generation = 0  # setups so far: after each, the sinks forget what the gateway lost
        self.groups: dict[str, tuple[str, ...]] = {}
        self.parsed: dict[str, Any] = {}
        self.answers = model.LatestAnswers()  # an answer like the last one is not parsed again
        self.available: bool | None = None
        self.failures = 0
        self.info_needs_setup = True
        self.live = LiveStream(self.client, monotonic, wall)  # freshness, and the stream kept on
        self.live_document: model.LiveDocument | None = None  # of the latest fresh live reading
        self._grid_status: str | None = None  # as last given to the sinks: is the relay's answer news?
        self.relay_watch = RelayWatch()  # the live data may vouch for the relay between its reads
        self._stop: threading.Event | None = None  # set by run(): the bridge is shutting down
        self.schedule = Schedule.starting_at(config.poll, monotonic(), refresh_s=refresh_s)
        self.diagnostics: dict[str, Any] = {"bridge_version": __version__, "errors": 0}
        self.bad_data = BadData(self.diagnostics)
        self.counters = CounterGuard()  # the energy counters' last good values, across cycles
        self.energy = ComputedEnergy(gateway, config.energy, config.poll)  # counters the gateway lacks, integrated here
        self.jobs = Jobs(monotonic)  # other threads' work on this gateway (the controls' writes)

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
        probed = probe(model.candidate_endpoints(info), self._read, self.serial)
        active = model.select_endpoints(info, probed.found)
        live_off = self.config.poll.interval("live") <= 0
        if live_off:
            active.discard(model.LIVE_PATH)
        self.live.restart(info.serial)
        self.relay_watch.restart(info.serial)
        self.live.probed(info, model.LIVE_PATH in active, probed.absent.get(model.LIVE_PATH), live_off)
        grid = model.grid_endpoint({ep: parsed for ep, parsed in probed.found.items() if ep in active})
        if grid_read(grid, self.config.poll) is None:
            active.discard(model.RELAY_PATH)  # the inventory reports the same relay, as often
        self.parsed = {ep: parsed for ep, parsed in probed.found.items() if ep in active}
        self.groups = group_endpoints(active, grid)
        self.generation += 1
        log.info(
            "Gateway %s (firmware %s): polling %s", info.serial, info.firmware, ", ".join(sorted(active)) or "nothing"
        )
        fast_live = model.batteries_or_controller(self.parsed)
        self.schedule = Schedule.starting_at(self.config.poll, self._monotonic(), fast_live, self._refresh_s)
        for endpoint in self.parsed:
            self.schedule.was_read(endpoint, self._monotonic())
        for group in GROUPS:  # the probe just read everything once
            self.schedule.done(group, self._monotonic())
            if not self.groups[group] and group != "info":  # info also re-reads /info
                self.schedule.disable(group)
        self.live_document = self.live.read(self.parsed, self.schedule.interval("live"))
        if relay_watched(self.groups, self.schedule):  # the probe read both: the watch may trust at once
            self.relay_watch.relay_read(
                live_relay_state(self.parsed), model.grid_status_of(self.parsed), self._monotonic()
            )

    def _read(self, endpoint: str, probing: bool = False) -> Any:
        return self.answers.parse(endpoint, self.client.get(endpoint, probing=probing))

    def read_now(self, endpoints: tuple[str, ...]) -> bool:
        """Poll `endpoints` now (a control's read-back, on this thread) and deliver the cycle, so
        what they say is published at once; True when it was. Raises as the polls do."""
        started = self._monotonic()
        polled = {endpoint for group in self.groups.values() for endpoint in group}
        for endpoint in endpoints:
            if endpoint in polled:  # one never polled again would stay in the state, stale
                self.parsed[endpoint] = self._read(endpoint)
                self.schedule.was_read(endpoint, self._monotonic())
        return self.deliver(started)

    # --- one cycle ----------------------------------------------------------------------

    def poll_group(self, group: str) -> None:
        """Read every endpoint of one group; a data error drops that endpoint's data only.

        Before each endpoint of a slow group the grid relay and the live data get their turn
        when due: /production.json can take seconds on a real gateway, an outage cannot wait.
        Before, not after: nothing is read between a group's last answer and its publication.
        """
        if group == "info":
            self._check_firmware()
        for endpoint in self.groups.get(group, ()):
            if not self.schedule.wanted(endpoint, self._monotonic()):
                continue  # the gateway has nothing newer yet: its last reading stands
            if group not in FAST_GROUPS:
                self._poll_fast_if_due()
            try:
                self.parsed[endpoint] = reading = self._read(endpoint)
            except EnvoyDataError as err:
                self.parsed.pop(endpoint, None)  # never publish stale data as if fresh
                self.bad_data.bad(self.serial, endpoint, err)
            else:
                self.schedule.was_read(endpoint, self._monotonic())
                self.bad_data.read(self.serial, endpoint, reading)

    def _poll_fast_if_due(self) -> None:
        if self.groups.get("live") and self.schedule.next_due["live"] <= self._monotonic():
            self._poll_live()
        if self.groups.get("grid") and self.schedule.next_due["grid"] <= self._monotonic():
            self._poll_grid()

    def _poll_fast(self, groups: list[str]) -> bool:
        """The live data and the grid relay alone (the live data first: they may vouch for the
        relay); True (a full cycle) only when the relay said something new. The live document
        and a grid status from it go to the sinks at once."""
        if "live" in groups:
            self._poll_live()
        return "grid" in groups and self._poll_grid()

    def _poll_grid(self) -> bool:
        """Read the grid relay, unless the live data vouch for it; a new grid status goes to the
        sinks at once. True when it changed."""
        watched, live_state, now = (
            relay_watched(self.groups, self.schedule),
            live_relay_state(self.parsed),
            self._monotonic(),
        )
        if watched and not self.relay_watch.relay_needed(live_state, now):
            self.schedule.done("grid", now)
            return False
        self.poll_group("grid")
        self.schedule.done("grid", self._monotonic())
        status = model.grid_status_of(self.parsed)
        if watched:
            self.relay_watch.relay_read(live_state, status, now)
        return self._report_grid_status(status)

    def _poll_live(self) -> None:
        """Read the live data: a fresh document goes to the sinks at once, without the state."""
        self.poll_group("live")
        self.schedule.done("live", self._monotonic())
        self.live_document = self.live.read(self.parsed, self.schedule.interval("live"))
        if self.live_document is not None:
            self.sinks.live(self.serial, self.live_document)
            # every live sample counts, not just the one a state cycle sees
            self.energy.add_live(self.serial, self.live_document.as_payload())
        # the main relay, where the gateway has no relay endpoint
        self._report_grid_status(model.grid_status_of(self.parsed))

    def _report_grid_status(self, status: str | None) -> bool:
        """A status that is news goes to the sinks; True when it did."""
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

    # --- the snapshot ---------------------------------------------------------------------

    def deliver(self, started: float) -> bool:
        """Hand this cycle's snapshot to the sinks; False when the gateway gave nothing usable."""
        info = self.info
        if info is None:
            return False  # never set up: nothing to say yet
        polled_at = self._wall()
        try:
            state = model.build_state(info, self.parsed, polled_at)
        except EnvoyDataError as err:
            self.bad_data.bad(self.serial, "state", err, "no usable data")
            return False
        self.bad_data.good(self.serial, "state")
        self._grid_status = state.grid_status or self._grid_status
        documents = Snapshot.documents_of(state)
        ct_types = ct_types_of(self.parsed, self.groups)
        live = self.live_document.as_payload() if self.live_document else None  # the counters' best power
        self.energy.add_to(documents[STATE], info.serial, ct_types, live, polled_at, self._monotonic())
        guarded = self.counters.apply(info.serial, documents, self._monotonic())
        self._log_counters(guarded)
        duration = self._monotonic() - started
        diagnostics = gateway_diagnostics.refresh(
            self.diagnostics, info, self.client, self.counters, duration, polled_at, self.energy.gaps
        )
        snapshot = Snapshot.of(info, state, diagnostics, polled_at, self.generation, guarded, self.live_document)
        self.sinks.cycle(snapshot, self._availability_events(True))
        return True

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
            self.jobs.run_due()
            self._step()
            self.jobs.wait(stop, self.schedule.seconds_to_next(self._monotonic()))
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
        if groups_run and all(group in FAST_GROUPS for group in groups_run):
            return self._poll_fast(groups_run)
        for group in sorted(groups_run, key=lambda group: READING_ORDER[group]):
            if self.schedule.next_due[group] > started:
                continue  # a fast group, already read before an endpoint of an earlier group
            if group in FAST_GROUPS:
                self._poll_fast([group])
                continue
            self.poll_group(group)
            self.schedule.done(group, self._monotonic())
        return bool(groups_run)

    def _internal_error(self) -> None:
        # The traceback once per outage, like any other error; the rest at DEBUG.
        level = logging.DEBUG if self.available is False else logging.ERROR
        log.log(level, "Gateway %s: unexpected error", self.serial, exc_info=True)
        self._fail(EnvoyError("internal error, see the log"))
