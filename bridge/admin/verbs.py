"""The verbs: each request's body checked on paho's thread, then run.

Nothing happens before the whole request is checked: its keys, the gateway it names (by serial,
or by its label), the endpoint of a `read` (only one the registry knows, never a URL), the level
of a `log_level`, and the verb's rate limit per gateway. A gateway's work (`poll`, `rediscover`,
`read`, `renew_token`) then runs as a job on that gateway's worker thread, between two poll
steps, through its one-request-at-a-time client; `health_check` and `log_level` answer at once.

Several bridges may share the request topics (docs/fleet.md): a request for a gateway another
instance serves is left to that one (a DEBUG line, no response), and a request naming another
`instance` is not ours at all. Naming this instance makes an unknown gateway an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bridge import model
from bridge.admin.requests import Request
from bridge.capture.redact import Redactor
from bridge.config.schema import LOG_LEVELS
from bridge.errors import BridgeError, RequestRefused
from bridge.gateway.worker import EnvoyWorker
from bridge.redaction import redact, set_log_level

log = logging.getLogger(__name__)

# Per gateway and verb, the shortest time between two requests; those in between are refused.
# A poll reads every endpoint (a real gateway takes seconds for /production.json, and users have
# frozen gateways by polling too hard): 10 s, the default meters interval. A rediscovery probes
# every candidate endpoint, a renewal asks the Enphase cloud: a minute. A read is one request.
MIN_INTERVAL_S = {"poll": 10.0, "rediscover": 60.0, "renew_token": 60.0, "read": 2.0}
KEYS = {
    "poll": {"gateway", "instance"},
    "rediscover": {"gateway", "instance"},
    "renew_token": {"gateway", "instance"},
    "read": {"gateway", "path", "instance"},
    "health_check": {"instance"},
    "log_level": {"level", "instance"},
}
Respond = Callable[[Request, Any, str | None], None]  # (request, data, error)


class NotServedHere(Exception):
    """The request is another instance's to answer."""


class Verbs:
    def __init__(
        self,
        workers: list[EnvoyWorker],
        health_check: Callable[[], dict[str, Any]],
        respond: Respond,
        secrets: tuple[str, ...] = (),
        monotonic: Callable[[], float] = time.monotonic,
        min_interval_s: dict[str, float] | None = None,
        instance: str = "",
    ) -> None:
        self.workers, self._check, self._respond, self.instance = workers, health_check, respond, instance
        self._secrets, self._monotonic = secrets, monotonic
        self.min_interval_s = MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}  # (gateway label, verb) -> monotonic time accepted

    def handle(self, request: Request) -> None:
        """Check `request` and run it (or hand it to its gateway's worker); refusals are answered."""
        try:
            unknown = set(request.body) - KEYS[request.verb]
            if unknown:
                raise RequestRefused(f"unknown key(s) {', '.join(sorted(unknown))} for {request.verb}")
            if request.body.get("instance", self.instance) != self.instance:
                raise NotServedHere
            getattr(self, f"_{request.verb}")(request)
        except RequestRefused as err:
            self._respond(request, None, str(err))
        except NotServedHere:
            log.debug("Requests: %s left to the instance that serves it", request.verb)

    # --- answered at once -------------------------------------------------------------------------

    def _health_check(self, request: Request) -> None:
        self._respond(request, {**self._check(), "instance": self.instance}, None)

    def _log_level(self, request: Request) -> None:
        level = request.body.get("level")
        if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
            raise RequestRefused(f"`level` must be one of {', '.join(LOG_LEVELS)}")
        set_log_level(level.upper())
        log.warning("Log level set to %s by a request", level.upper())  # said at any level
        self._respond(request, {"level": level.upper(), "instance": self.instance}, None)

    # --- a gateway's work, on its worker's thread ---------------------------------------------

    def _poll(self, request: Request) -> None:
        worker = self._gateway(request)
        self._submit(worker, request, lambda: poll_now(worker, self._monotonic))

    def _rediscover(self, request: Request) -> None:
        worker = self._gateway(request)
        self._submit(worker, request, lambda: rediscover(worker, self._monotonic))

    def _renew_token(self, request: Request) -> None:
        worker = self._gateway(request)
        self._submit(worker, request, lambda: renew_token(worker))

    def _read(self, request: Request) -> None:
        path = request.body.get("path")
        if not isinstance(path, str) or path not in model.ENDPOINTS:
            raise RequestRefused("`path` must be one of the endpoints the bridge knows (docs/mqtt.md)")
        worker = self._gateway(request)
        self._submit(worker, request, lambda: read(worker, path, self._secrets))

    def _gateway(self, request: Request) -> EnvoyWorker:
        """The worker of the gateway the request names (by serial or label); the only one when
        the bridge has one and the request names none."""
        name = request.body.get("gateway")
        if name is None and len(self.workers) == 1:
            return self.workers[0]
        if not isinstance(name, str):
            raise RequestRefused("`gateway` must name one of the bridge's gateways (its serial or label)")
        for worker in self.workers:
            if name in (worker.serial, worker.gateway.label):
                return worker
        if "instance" not in request.body:  # perhaps another bridge's gateway (docs/fleet.md)
            raise NotServedHere
        raise RequestRefused("no such gateway: `gateway` must be the serial or label of one of the bridge's gateways")

    def _submit(self, worker: EnvoyWorker, request: Request, work: Callable[[], dict[str, Any]]) -> None:
        self._take_turn(worker.gateway.label, request.verb)
        if not worker.jobs.submit(lambda: self._run(request, work)):
            raise RequestRefused("too many requests waiting for this gateway; try again later")

    def _take_turn(self, label: str, verb: str) -> None:
        interval, now = self.min_interval_s.get(verb, 0.0), self._monotonic()
        with self._lock:
            last = self._last.get((label, verb))
            if last is not None and now - last < interval:
                raise RequestRefused(
                    f"too soon: one {verb} every {interval:g} s per gateway (try again in {interval - (now - last):.0f} s)"
                )
            self._last[(label, verb)] = now

    def _run(self, request: Request, work: Callable[[], dict[str, Any]]) -> None:
        try:
            data = work()
        except BridgeError as err:  # its text names paths and statuses; the redaction is a second net
            self._respond(request, None, redact(str(err), self._secrets))
        else:
            self._respond(request, data, None)


# --- the work itself (the worker's thread) ---------------------------------------------------------


def poll_now(worker: EnvoyWorker, monotonic: Callable[[], float]) -> dict[str, Any]:
    """Every group of the gateway now, and the cycle delivered (the state published at once).
    `monotonic` is the worker's clock: its schedule counts from the polls done here."""
    _set_up(worker)
    started = monotonic()
    worker.schedule.read_at.clear()  # asked for "now": the settings and inverter reads too
    for group, endpoints in worker.groups.items():
        if endpoints:
            worker.poll_group(group)
            worker.schedule.done(group, monotonic())
    delivered = worker.deliver(started)
    return {"gateway": worker.serial, "delivered": delivered, "duration_s": round(monotonic() - started, 3)}


def rediscover(worker: EnvoyWorker, monotonic: Callable[[], float]) -> dict[str, Any]:
    """/info, the credentials and the probe again; the cycle delivered, so discovery follows."""
    started = monotonic()
    worker.info_needs_setup = True  # should this fail, the worker's next step sets up again
    worker.setup()
    worker.info_needs_setup = False
    worker.deliver(started)
    info = worker.info
    endpoints = sorted(endpoint for group in worker.groups.values() for endpoint in group)
    return {"gateway": worker.serial, "firmware": info.firmware if info else None, "endpoints": endpoints}


def renew_token(worker: EnvoyWorker) -> dict[str, Any]:
    token = worker.client.renew_token(force=True)
    return {
        "gateway": worker.serial,
        "token_type": token.user_type,
        "token_expires": round(token.expires_at),
        "token_days_left": round(token.days_left(time.time()), 1),
    }


def read(worker: EnvoyWorker, path: str, secrets: tuple[str, ...]) -> dict[str, Any]:
    """One endpoint's answer as the gateway sent it, through the capture redaction."""
    serials = tuple(s for s in (worker.serial, worker.gateway.serial) if s)
    masked = Redactor(serials, secrets).mask(worker.client.get(path))
    return {"path": path, "document": model.decode_json(path, masked)}


def _set_up(worker: EnvoyWorker) -> None:
    if worker.info is None or worker.info_needs_setup:
        raise RequestRefused("the gateway has not answered yet (or is being set up again); try again later")
