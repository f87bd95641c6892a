"""The cloud worker: one thread per bridge that asks the cloud API for one system's data when
the budget allows and the data can have changed (schedule.py), and hands the results to the
gateway's sinks: the `/cloud` document always, and in `only` mode the gateway's state and
availability as well (a `Snapshot` like the local worker's, so topics and discovery stay one
contract).

`complement` mode shares the local gateway's sinks; `LocalWatch`, the last of them, tells the
worker how long the gateway has been offline: past `cloud_api.outage_after_s`, summaries go out
urgently (at most a bounded share of the month ahead of the spread). Cloud values never enter
the local state or its counters: they go to `/cloud` only.

Energy counters pass the counter guard (bridge/model/guard.py) like the local ones: the cloud
lifetime never steps back in Home Assistant's statistics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bridge import __version__
from bridge.cloudapi import schedule as plan
from bridge.cloudapi.documents import OK, QUOTA, CloudData, cloud_document, source_status, state_document
from bridge.cloudapi.source import CloudApiSource
from bridge.config import Config
from bridge.config.schema import MONTH_S
from bridge.model import GatewayInfo, GatewayState
from bridge.model.guard import CLOUD, STATE, CounterGuard, log_lines
from bridge.model.snapshot import Availability, Snapshot
from bridge.sinks import FanOut, Sink

log = logging.getLogger("bridge.cloudapi")

MAX_WAIT_S = 5.0  # a step (no I/O unless a call is due) this often: an outage may begin, a serial be told
FIELDS = {plan.SUMMARY: "summary", plan.LATEST: "latest", plan.CONSUMPTION: "consumption", plan.BATTERY: "battery"}


class LocalWatch(Sink):
    """`complement` mode, the last sink of the paired gateway: its serial and how long it has been
    offline (monotonic time). Written by the gateway's thread, read by the cloud worker's."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.serial: str | None = None
        self._offline_since: float | None = None

    def snapshot(self, snapshot: Snapshot) -> None:
        self.serial = snapshot.serial

    def availability(self, event: Availability) -> None:
        self.serial = event.serial
        if event.online:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = self._monotonic()

    def outage_s(self) -> float:
        since = self._offline_since
        return 0.0 if since is None else self._monotonic() - since


class CloudWorker:
    def __init__(
        self,
        config: Config,
        source: CloudApiSource,
        sinks: FanOut,
        *,
        serial: str | None = None,
        local: LocalWatch | None = None,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.cfg = config.cloud_api
        self.max_wait_s = max_wait_s
        self.source, self.sinks, self.local = source, sinks, local
        self._serial = serial
        self._now, self._monotonic = now, monotonic
        self.schedule = plan.CloudSchedule(plan.ONLY_ASKS if self.cfg.only else plan.COMPLEMENT_ASKS)
        self.data = CloudData()
        self.guard = CounterGuard()
        self.urgent_calls = 0
        self._last_answer: float | None = None
        self._online: bool | None = None
        self._published_for: str | None = None  # the serial of the last publish

    @property
    def serial(self) -> str | None:
        """The configured serial, else (complement) the local gateway's once it has been read."""
        return self._serial or (self.local.serial if self.local else None)

    def run(self, stop: threading.Event) -> None:
        failing = False
        while not stop.is_set():
            try:
                wait = self.step()
                failing = False
            except Exception:  # a bug here must not end the thread: one traceback per streak
                log.log(
                    logging.DEBUG if failing else logging.ERROR, "cloud API worker: unexpected error", exc_info=True
                )
                failing, wait = True, MAX_WAIT_S
            stop.wait(wait)

    def step(self) -> float:
        """Send the next call if it is due, publish; the seconds to wait before the next step."""
        now = self._now()
        for name in self.schedule.asks:
            if not self.source.in_plan(name):
                self.schedule.drop(name)
        chosen = None if self.source.stopped else self.schedule.next(now, self.source.next_call_at())
        if chosen is None:
            self.publish(now)
            return self.max_wait_s
        name, due = chosen
        urgent = self._urgent(name, now)
        at = max(due, self.source.next_call_at(urgent))  # the budget reads the clock itself: later
        if at > (now := max(now, self._now())):
            if self.serial != self._published_for:  # complement: the gateway's serial came after the data
                self.publish(now)
            return min(at - now, self.max_wait_s)
        answer = self._ask(name, urgent)
        if answer is None and self.source.keeper.needs_authorize:
            self.publish(now)  # asked again each step: `cloud authorize` may have been run
            return self.max_wait_s
        self.schedule.done(name, now, answer is not None)
        if answer is not None:
            self.data = replace(self.data, **{FIELDS[name]: answer})
            self._last_answer = now
        self.urgent_calls += urgent
        self.publish(now)
        return 0.0

    def _urgent(self, name: str, now: float) -> bool:
        if name != plan.SUMMARY or self.local is None or self.local.outage_s() < self.cfg.outage_after_s:
            return False
        return plan.urgent_allowed(now, self.source.next_call_at(False), self.cfg.per_month, MONTH_S)

    def _ask(self, name: str, urgent: bool) -> Any:
        if name == plan.SUMMARY:
            return self.source.summary(urgent)
        if name == plan.LATEST:
            return self.source.latest_telemetry()
        return self.source.telemetry(name.removeprefix("telemetry/"))

    def publish(self, now: float) -> None:
        """The `/cloud` document, and in `only` mode the state and availability."""
        serial = self.serial
        if serial is None:
            return  # complement: the local gateway has not told its serial yet
        self._published_for = serial
        status = self.source.status()
        documents = {CLOUD: cloud_document(self.data, status, now)}
        state = state_document(serial, self.data) if self.cfg.only else None
        if state is not None:
            documents[STATE] = state
        guarded = self.guard.apply(serial, documents, self._monotonic())
        for loud, text in log_lines(guarded.events):
            log.log(logging.WARNING if loud else logging.INFO, "cloud API %s: %s", serial, text)
        self.sinks.cloud(serial, guarded.documents[CLOUD])  # first: the announcer has it for the state's configs
        if self.cfg.only:
            code, problem = source_status(status, self.data.summary is not None)
            self._publish_state(serial, guarded.documents.get(STATE), code, problem, now)

    def _publish_state(
        self, serial: str, state: dict[str, Any] | None, code: str, problem: str | None, now: float
    ) -> None:
        """Online while the cloud delivers (its values keep their times, so a quota only ages them);
        offline before the first summary, once the key is refused or consent must be given again."""
        online = state is not None and code in (OK, QUOTA)
        reason = None if online else (problem or "no summary from the cloud API yet")
        events = (Availability(serial, online, reason),) if online != self._online else ()
        self._online = online
        if state is None:
            for event in events:
                self.sinks.availability(event)
            return
        info = GatewayInfo(
            serial, "", None, self.data.summary is not None and self.data.summary.source == "meter", False
        )
        diagnostics: dict[str, Any] = {"source": "cloud", "bridge_version": __version__}
        if self._last_answer is not None:
            diagnostics["last_poll"] = int(self._last_answer)
        snapshot = Snapshot(info, GatewayState(serial, "", state["time"]), state, {}, diagnostics, now, 1)
        self.sinks.cycle(snapshot, events)
