"""EnvoyWorker: the polling loop of one gateway, its availability and its backoff.

One worker (one thread) per gateway, so a hung gateway never delays another, and requests to
one gateway are strictly one at a time.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time

from bridge import __version__, model
from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.config import Config, GatewayConfig
from bridge.errors import AuthError, BridgeError, EnvoyDataError, EnvoyError, EnvoyUnavailable, TLSPinError
from bridge.gateway.client import EnvoyClient
from bridge.gateway.schedule import GROUPS, Schedule, group_endpoints
from bridge.homeassistant import discovery

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
        publisher,
        *,
        client=None,
        cloud=None,
        monotonic=time.monotonic,
        wall=time.time,
        rng=random.uniform,
    ):
        self.gateway, self.config, self.publisher = gateway, config, publisher
        # `cloud` is shared by every worker of a bridge (serialised logins, one per account).
        self.client = client or EnvoyClient(
            gateway,
            cloud or EnphaseCloud(config.cloud),
            TokenStore(gateway.token_cache) if gateway.token_cache else None,
        )
        # Retries stay inside the fastest poll interval; longer outages are the backoff's job.
        # (The one-second grid poll is left out: its misses are simply retried a second later.)
        self.client.retry_budget_s = RETRY_SHARE * min(getattr(config.poll, g) for g in GROUPS if g != "grid")
        self._monotonic, self._wall, self._rng = monotonic, wall, rng
        self.info = None
        self.groups: dict[str, tuple[str, ...]] = {}
        self.parsed: dict[str, object] = {}
        self.available: bool | None = None
        self.failures = 0
        self.info_needs_setup = True
        self._grid_status: str | None = None  # as last published
        self._announced: dict[str, str] = {}  # discovery topic -> config, since the last probe
        self._announced_shape = None
        self._bad_endpoints: set[str] = set()
        self._stop: threading.Event | None = None  # set by run(): the bridge is shutting down
        self.schedule = Schedule.starting_at(config.poll, monotonic())
        self.diagnostics = {"bridge_version": __version__, "errors": 0}

    @property
    def serial(self) -> str:
        return self.info.serial if self.info else (self.gateway.serial or self.gateway.host)

    def _topic(self, suffix: str) -> str:
        return f"{self.config.mqtt.base_topic}/{self.serial}/{suffix}"

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
        probed, refused = {}, []
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
        self._announced = {}  # entities that vanished since the last probe are removed now
        log.info(
            "Gateway %s (firmware %s): polling %s", info.serial, info.firmware, ", ".join(sorted(active)) or "nothing"
        )
        self.schedule = Schedule.starting_at(self.config.poll, self._monotonic())
        for group in GROUPS:  # the probe just read everything once
            self.schedule.done(group, self._monotonic())
            if not self.groups[group] and group != "info":  # info also re-reads /info
                self.schedule.disable(group)

    def _probe(self, endpoint: str, refused: list[str]):
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

    def _read(self, endpoint: str, probing: bool = False):
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
        now = self._monotonic()
        if self.groups.get("grid") and self.schedule.next_due["grid"] <= now:
            self.poll_group("grid")
            self.schedule.done("grid", self._monotonic())
            self._publish_grid_status()

    def _publish_grid_status(self) -> bool:
        """Publish a changed grid status at once, from the relay alone; True when it changed."""
        status = model.grid_status_of(self.parsed)
        if status is None or status == self._grid_status:
            return False
        if self._grid_status is not None:  # an outage is news; its end too, but good news
            log.log(
                logging.WARNING if status == "off_grid" else logging.INFO,
                "Gateway %s: grid status %s",
                self.serial,
                status,
            )
        self._grid_status = status
        self.publisher.publish_state(self._topic("grid/status"), status)
        return True

    def _check_firmware(self) -> None:
        info = self.client.fetch_info()
        if info.firmware != self.info.firmware or info.serial != self.info.serial:
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

    # --- publishing ---------------------------------------------------------------------

    def publish(self, started: float) -> bool:
        """Publish state, unit documents, grid status, discovery and diagnostics; False when
        nothing usable."""
        try:
            state = model.build_state(self.info, self.parsed, self._wall())
        except EnvoyDataError as err:
            self._note_bad_endpoint("state", err, "no usable data")
            return False
        self._note_good_endpoint("state")
        payload = state.as_payload()
        documents = state.device_payloads()  # inverter/<sn>, battery/<sn>, enpower/<sn>, relay/<id> ...
        if state.grid_status and state.grid_status != self._grid_status:
            self._grid_status = state.grid_status
            self.publisher.publish_state(self._topic("grid/status"), state.grid_status)
        # Values first (latency), and only what changed: "time" moves on every poll.
        self._publish_json("state", payload, ignore=("time",))
        for suffix, document in documents.items():
            self._publish_json(suffix, document)
        diagnostics = self._diagnostics(started)
        if self.config.homeassistant.discovery:
            self._announce(payload, documents, diagnostics)
        self._set_available(True)
        self._publish_json("diagnostics", diagnostics, ignore=("last_poll", "poll_duration_s"))
        return True

    def _publish_json(self, suffix: str, document: dict, ignore: tuple[str, ...] = ()) -> None:
        text = json.dumps(document, allow_nan=False, separators=(",", ":"))
        compare = (
            json.dumps({k: v for k, v in document.items() if k not in ignore}, separators=(",", ":"))
            if ignore
            else None
        )
        self.publisher.publish_state(self._topic(suffix), text, compare=compare)

    def _announce(self, payload: dict, documents: dict, diagnostics: dict | None = None) -> None:
        """Discovery configs, rebuilt only when the set of values present changes (they are the
        costliest part of a cycle). An entity whose value is missing for a while (a bad
        answer) stays announced until the next probe, so Home Assistant keeps its history."""
        shape = (self.info.firmware, _shape(payload), _shape(documents), _shape(diagnostics or {}))
        if shape == self._announced_shape:
            return
        self._announced_shape = shape
        self._announced.update(
            discovery.build_configs(
                payload,
                self.info,
                base_topic=self.config.mqtt.base_topic,
                prefix=self.config.homeassistant.prefix,
                host=self.gateway.host,
                devices=documents,
                diagnostics=diagnostics,
                expire_after=self.expire_after,
            )
        )
        self.publisher.sync_discovery(self.serial, dict(self._announced))

    def expire_after(self, state_topic: str) -> float | None:
        """homeassistant.expire_after for the entities of one state topic: a number as
        configured (0 = never), or by default from the poll group that refreshes the topic."""
        configured = self.config.homeassistant.expire_after_s
        if configured is not None:
            return configured or None
        poll = self.config.poll
        suffix = state_topic.removeprefix(f"{self.config.mqtt.base_topic}/{self.serial}/")
        kind = suffix.split("/", 1)[0]
        group = "inverters" if kind == "inverter" else "meters" if kind in ("state", "diagnostics") else "batteries"
        return discovery.expire_after_s(getattr(poll, group), self.config.mqtt.republish_interval, poll.meters)

    def _diagnostics(self, started: float) -> dict:
        token = getattr(self.client, "token_info", None)
        self.diagnostics.update(
            {
                "serial": self.serial,
                "firmware": self.info.firmware if self.info else None,
                "last_poll": round(self._wall()),
                "poll_duration_s": round(self._monotonic() - started, 3),
            }
        )
        if token is not None:
            self.diagnostics.update(
                {
                    "token_type": token.user_type,
                    "token_expires": round(token.expires_at),
                    "token_days_left": round(token.days_left(self._wall()), 1),
                }
            )
        self.diagnostics["token_renewal_error"] = getattr(self.client, "last_renewal_error", None)
        return dict(sorted(self.diagnostics.items()))

    def _set_available(self, available: bool, reason: BaseException | None = None) -> None:
        if available == self.available:
            return
        if available and self.available is False:
            log.info("Gateway %s: recovered, publishing again", self.serial)
        elif not available:
            log.error("Gateway %s: unavailable: %s", self.serial, reason)
        self.available = available
        self.publisher.publish_state(self._topic("availability"), "online" if available else "offline")

    def _fail(self, err: BridgeError) -> None:
        """Mark the gateway offline and back off; setup runs again on the next attempt,
        because an outage is often a reboot or a firmware update."""
        if self._stop is not None and self._stop.is_set():
            return  # a request cut by the shutdown: not the gateway's fault, nothing to report
        self.diagnostics["errors"] += 1
        self._set_available(False, err)
        self.failures += 1
        self.info_needs_setup = True
        # The exponent is capped: after ~1000 failures (two days away) 2**n no longer fits a float.
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(self.failures - 1, 16))
        delay = max(BACKOFF_MIN_S, self._rng(0, ceiling))
        log.debug("Gateway %s: next attempt in %.0f s", self.serial, delay)
        self.schedule.delay_all(self._monotonic() + delay)

    # --- loops --------------------------------------------------------------------------

    def run_once(self) -> None:
        """One full read of every endpoint and one publish; raises the first fatal error."""
        started = self._monotonic()
        try:
            self.setup()
        except BridgeError as err:
            self._fail(err)
            raise
        if not self.publish(started):
            raise EnvoyDataError(f"gateway {self.serial} gave no usable data")

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        while not stop.is_set():
            self._step()
            stop.wait(self.schedule.seconds_to_next(self._monotonic()))

    def _step(self) -> None:
        started = self._monotonic()
        try:
            if self.info_needs_setup:
                self.setup()
                self.info_needs_setup = False
                groups_run = ["all"]
            else:
                groups_run = self.schedule.due(started)
                for group in groups_run:
                    if self.schedule.next_due[group] > started:
                        continue  # the grid relay, already read between an earlier group's endpoints
                    self.poll_group(group)
                    self.schedule.done(group, self._monotonic())
            if groups_run == ["grid"] and not self._publish_grid_status():
                groups_run = []  # the relay said nothing new: nothing else to publish
            if groups_run:
                self.failures = 0
                self.publish(started)
        except BridgeError as err:
            self._fail(err)
        except Exception:  # a bug (here or in a parser) must not kill the gateway's thread
            self._internal_error()

    def _internal_error(self) -> None:
        # The traceback once per outage, like any other error; the rest at DEBUG.
        level = logging.DEBUG if self.available is False else logging.ERROR
        log.log(level, "Gateway %s: unexpected error", self.serial, exc_info=True)
        self._fail(EnvoyError("internal error, see the log"))


def _shape(value):
    """The keys of a JSON document, nested, without the values: which entities exist."""
    if isinstance(value, dict):
        return tuple((k, _shape(v)) for k, v in value.items())
    return None
