"""One gateway's commands: checked on arrival, written and read back on its worker's thread.

On paho's thread (`command`): the control must be one of an enabled family, the value of its
type and range, and the control's last command at least `min_interval_s` ago; a refusal is a
result at once, and nothing is queued. The rest runs as a job on the gateway's worker thread
(never blocking paho, sharing the one-request-at-a-time client): is the hardware there, may
this token make the write (production needs an installer's), the write itself (never retried
once it may have left), then the read-back, an ordinary poll of the endpoints that show the
value, delivered at once, so the state and unit documents and the result agree. A value that
does not show yet is read again a few seconds later (a dry contact lags); once confirmed, it
is re-read every `revert_check_s` for `revert_window_s`, and a change back is reported once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge import identifiers, model
from bridge.config import ControlsConfig
from bridge.controls import table, writes
from bridge.controls.commands import Command
from bridge.controls.revert import Reverted, RevertWatch
from bridge.errors import AuthError, BridgeError, CommandRefused, EnvoyDataError, EnvoyHTTPError, EnvoyUnavailable
from bridge.gateway.worker import EnvoyWorker
from bridge.model.snapshot import Snapshot
from bridge.mqtt.guard import Quiet
from bridge.sinks import Sink

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0  # refusals of one control: the first logged, then at most one line a minute
Publish = Callable[[str, str, dict[str, Any]], None]  # (gateway serial, control path, result document)
PRODUCTION = table.Control(next(kind for kind in table.CONTROLS if kind.template == "production"))


@dataclass(frozen=True)
class Pending:
    """A command on its way: checked, not yet confirmed."""

    control: table.Control
    value: table.Value
    id: str | int | None


class GatewayControls(Sink):
    """The controls of one gateway; hears its snapshots (the revert watch) as a sink."""

    def __init__(
        self,
        worker: EnvoyWorker,
        config: ControlsConfig,
        publish: Publish,
        publish_document: Publish,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker, self.config, self._publish, self._monotonic = worker, config, publish, monotonic
        self._publish_document = publish_document  # a retained state below the gateway's topic
        self._production_due: float | None = None  # when production's state is read again (None: now)
        self.reverts = RevertWatch(config.revert_window_s, monotonic)
        self.latest: Snapshot | None = None  # the worker's latest cycle (its thread only)
        self._lock = threading.Lock()  # the rate limit, from paho's thread
        self._last_command: dict[str, float] = {}  # control path -> monotonic time accepted
        self._quiet: dict[str, Quiet] = {}
        self._current: dict[str, Pending] = {}  # control path -> its latest confirmed command
        self._latest: dict[str, Pending] = {}  # control path -> its latest command written

    @property
    def serial(self) -> str | None:
        info = self.worker.info
        return info.serial if info is not None else self.worker.gateway.serial

    # --- paho's thread ----------------------------------------------------------------------

    def command(self, path: str, command: Command) -> None:
        """Check a command and hand it to the worker; a refusal is its result, at once."""
        try:
            control = table.match(path, self.config)
            if control is None:
                raise CommandRefused(f"no control {identifiers.show(path, 80)} (or its family is not enabled)")
            pending = Pending(control, control.type.value(command.value), command.id)
            self._take_turn(path)
            if not self.worker.jobs.submit(lambda: self._execute(pending)):
                raise CommandRefused("too many commands waiting for this gateway; try again later")
        except CommandRefused as err:
            self.command_refused(path, command.id, str(err))

    def _take_turn(self, path: str) -> None:
        now = self._monotonic()
        with self._lock:
            last = self._last_command.get(path)
            if last is not None and now - last < self.config.min_interval_s:
                wait = self.config.min_interval_s - (now - last)
                raise CommandRefused(
                    f"too soon: one command every {self.config.min_interval_s:g} s for this control "
                    f"(try again in {wait:.0f} s)"
                )
            self._last_command[path] = now

    # --- the worker's thread ------------------------------------------------------------------

    def snapshot(self, snapshot: Snapshot) -> None:
        self.latest = snapshot
        self._poll_production_if_due()
        for path in self.reverts.paths():
            pending = self._current.get(path)
            if pending is not None and not pending.control.type.direct:  # those are re-read
                self._report(self.reverts.check(path, pending.control.current(snapshot)))

    def _execute(self, pending: Pending) -> None:
        path = pending.control.path
        self.reverts.forget(path)  # whatever this command changes is not a revert
        self._current.pop(path, None)
        try:
            self._check_available(pending.control)
            write = writes.request_for(pending.control, pending.value, self._read_first, self.config.production_eid)
        except CommandRefused as err:
            self.command_refused(path, pending.id, str(err))
            return
        try:
            self.worker.client.write_json(write.method, write.path, write.body)
        except BridgeError as err:
            self.command_refused(path, pending.id, _write_error(err))
            return
        self._latest[path] = pending
        self._confirm(pending, 0)

    def _check_available(self, control: table.Control) -> None:
        if control.type.installer:
            token = self.worker.client.token_info
            if token is None or token.user_type != "installer":
                raise CommandRefused("only an installer token may switch production; this gateway has none")
            return
        if self.latest is None:
            raise CommandRefused("no data from the gateway yet; try again once it is online")
        if control.current(self.latest) is None:
            raise CommandRefused(f"this gateway has no {control.path}: its data show no such hardware or setting")

    def _read_document(self, path: str) -> Any:
        return model.decode_json(path, self.worker.client.get(path))

    def _read_first(self, path: str) -> Any:
        """The document a write sends back whole, read now; nothing is sent when that fails."""
        try:
            return self._read_document(path)
        except BridgeError as err:
            raise CommandRefused(f"nothing sent: reading {path} first failed: {err}") from err

    def _confirm(self, pending: Pending, attempt: int) -> None:
        """Read the value back; again after the control's next delay while it differs."""
        path, delays = pending.control.path, pending.control.type.readback_s
        if self._latest.get(path) is not pending:
            self._finish(pending, False, None, "a later command to this control came before it showed")
            return
        try:
            current = self._read_value(pending.control)
        except BridgeError as err:
            self._finish(pending, False, None, f"written, but reading it back failed: {_write_error(err)}")
            return
        if current == pending.value:
            self._finish(pending, True, current, None)
            self._current[path] = pending
            self.reverts.watch(path, current, pending.id)
            self._recheck_later(pending)
        elif attempt + 1 < len(delays):
            later = delays[attempt + 1] - delays[attempt]
            if not self.worker.jobs.submit(lambda: self._confirm(pending, attempt + 1), later):
                self._finish(pending, False, current, "written, but the read-back could not be queued")
        else:
            still = f"the gateway still reports {_show(current)} {delays[-1]:g} s after the write"
            self._finish(pending, False, current, still)

    def _read_value(self, control: table.Control) -> table.Value | None:
        if control.type.direct:
            value = writes.read_back(control, self._read_document, self.config.production_eid)
            if control.type is PRODUCTION.type and value is not None:
                self._publish_production(value)
            return value
        if not self.worker.read_now(control.type.readback):
            raise EnvoyDataError("the gateway gave no usable data")
        return control.current(self.latest) if self.latest is not None else None

    def _recheck_later(self, pending: Pending) -> None:
        """Read the value again every `revert_check_s` while the watch lasts: the tariff is
        otherwise read once an hour, and a cloud revert comes within minutes."""
        self.worker.jobs.submit(lambda: self._recheck(pending), self.config.revert_check_s)

    def _recheck(self, pending: Pending) -> None:
        path = pending.control.path
        if self._current.get(path) is not pending or not self.reverts.watching(path):
            return  # a later command took over, or the watch is over
        try:
            current = self._read_value(pending.control)  # a delivered snapshot is checked as a sink
        except BridgeError as err:
            log.debug("Gateway %s: re-reading %s failed: %s", self.serial, path, err)
        else:
            self._report(self.reverts.check(path, current))
        if self.reverts.watching(path):
            self._recheck_later(pending)

    # --- production's state: no poll reads it (installer only) -------------------------------

    def _poll_production_if_due(self) -> None:
        """Read production's state at the settings' cadence, where it may be read and written:
        the family enabled and the token an installer's. A job: the sinks are not held up."""
        now, token = self._monotonic(), self.worker.client.token_info
        if not self.config.production or token is None or token.user_type != "installer":
            self._production_due = None  # read at once when it may be again
        elif self._production_due is None or now >= self._production_due:
            self._production_due = now + self.worker.config.poll.interval("info")
            self.worker.jobs.submit(self._read_production)

    def _read_production(self) -> None:
        try:
            self._read_value(PRODUCTION)  # published when it says
        except BridgeError as err:
            log.debug("Gateway %s: reading production's state failed: %s", self.serial, err)

    def _publish_production(self, value: table.Value) -> None:
        serial = self.serial
        if serial is not None:
            self._publish_document(serial, PRODUCTION.path, {"forced_off": value == table.OFF})

    # --- results --------------------------------------------------------------------------

    def _finish(self, pending: Pending, ok: bool, value: table.Value | None, error: str | None) -> None:
        path = pending.control.path
        if ok:
            log.info("Gateway %s: %s set to %s (confirmed)", self.serial, path, _show(value))
        else:
            self._log_refusal(path, error or "")
        self._send(path, {"id": pending.id, "ok": ok, "value": value, "error": error})

    def command_refused(self, path: str, command_id: str | int | None, error: str) -> None:
        self._log_refusal(path, error)
        self._send(path, {"id": command_id, "ok": False, "value": None, "error": error})

    def _log_refusal(self, path: str, error: str) -> None:
        with self._lock:
            quiet = self._quiet.setdefault(path, Quiet(LOG_EVERY_S, self._monotonic))
            count = quiet.due()
        level = logging.WARNING if count is not None else logging.DEBUG
        more = f" ({count - 1} more since the last line)" if count and count > 1 else ""
        log.log(level, "Gateway %s: command on %s not done: %s%s", self.serial, identifiers.show(path, 80), error, more)

    def _report(self, reverted: Reverted | None) -> None:
        if reverted is None:
            return
        error = (
            f"reverted: the gateway reports {_show(reverted.value)} {reverted.after_s:.0f} s "
            f"after it confirmed {_show(reverted.confirmed)}"
        )
        log.warning("Gateway %s: %s %s", self.serial, reverted.path, error)
        self._send(reverted.path, {"id": reverted.command_id, "ok": False, "value": reverted.value, "error": error})

    def _send(self, path: str, result: dict[str, Any]) -> None:
        serial = self.serial
        if serial is not None:  # commands reach a gateway by its serial: it is known here
            self._publish(serial, path, result)


def _write_error(err: BridgeError) -> str:
    """One sentence for the result; never a secret (the errors name paths and statuses only)."""
    if isinstance(err, CommandRefused):
        return str(err)
    if isinstance(err, EnvoyHTTPError) and err.status in (401, 403):
        return f"the gateway refuses this write for this token (HTTP {err.status})"
    if isinstance(err, EnvoyUnavailable):
        return f"no answer from the gateway ({err}); the write may or may not have been applied"
    if isinstance(err, AuthError):
        return f"no credentials for the gateway: {err}"
    return f"the gateway did not take it: {err}"


def _show(value: object) -> str:
    return str(value) if isinstance(value, (int, float)) else identifiers.show(value)
