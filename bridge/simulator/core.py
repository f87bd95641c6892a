"""`Simulator`: a fake Envoy and a fake Enphase cloud over real HTTPS on loopback.

    with Simulator("path/to/capture") as sim:
        token = sim.issue_token()
        requests.get(sim.envoy_url + "/ivp/meters/readings", verify=sim.ca_file,
                     headers={"Authorization": f"Bearer {token}"})

A living gateway instead of a capture folder: values computed by the physics on a clock
that can run faster than real time, with scenario-level events:

    with Simulator(scenario="three_phase_battery", time_factor=60, start="11:00") as sim:
        sim.trigger("grid_outage")            # relay opens, batteries carry the house
        sim.schedule("grid_restore@+90s")     # or "reboot@+2m", "slow:delay_s=3@12:00" (daily)

Fault hooks (all thread-safe): revoke_sessions, revoke_token, fail_next, delay_next,
hang_next, clear_faults, stop_envoy/start_envoy, cloud_mode, use_certificate; counters:
request_counts, auth_counts, cloud_counts, reset_counts. Events: trigger, schedule, tick
(see events.py).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bridge.model.info import parse_info
from bridge.simulator import tls
from bridge.simulator.clock import SimClock
from bridge.simulator.cloud import CLOUD_MODES, CloudApp
from bridge.simulator.digest import DigestAuthority
from bridge.simulator.envoy import AUTH_MODES, DigestAuth, EnvoyApp, NoAuth, TokenAuth
from bridge.simulator.events import Director
from bridge.simulator.faults import Fault, Faults
from bridge.simulator.httpd import Listener
from bridge.simulator.living import LivingSource
from bridge.simulator.scenario import Scenario, load_scenario
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource, Source
from bridge.simulator.tokens import OWNER_LIFETIME_S, SESSION_IDLE_S, TokenAuthority

DEFAULT_CLOUD_USER = "owner@example.com"
DEFAULT_CLOUD_PASSWORD = "simulator-password"  # public: the fake cloud protects nothing
DEFAULT_INSTALLER_PASSWORD = "installer-password"
TICK_S = 0.1  # how often timed events are checked: reboots end, schedules fire
log = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self,
        capture_dir: str | Path | None = None,
        serial: str | None = None,
        auth: str = "token",
        *,
        source: Source | None = None,
        time_func: Callable[[], float] = time.time,
        token_lifetime_s: float = OWNER_LIFETIME_S,
        cloud_user: str = DEFAULT_CLOUD_USER,
        cloud_password: str = DEFAULT_CLOUD_PASSWORD,
        cloud_user_type: str = "owner",
        installer_password: str = DEFAULT_INSTALLER_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        cloud_port: int = 0,
        token_secret: bytes | None = None,
        session_idle_s: float = SESSION_IDLE_S,
        hang_limit_s: float = 30.0,
        scenario: str | Path | Scenario | None = None,
        time_factor: float = 1.0,
        start: float | str | None = None,
        timezone: str | None = None,
        nightly: bool = True,
        events: str | None = None,
    ):
        if auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
        if scenario is not None and (capture_dir is not None or source is not None):
            raise ValueError("give a scenario or a capture folder (or a source), not both")
        self.scenario = _scenario(scenario, serial, timezone, nightly) if scenario is not None else None
        # Tokens and sessions keep real time; only the physics runs on the scaled clock.
        self.clock = SimClock(
            time_func,
            time_factor if self.scenario else 1.0,
            start,
            self.scenario.timezone if self.scenario else (timezone or "local"),
        )
        self.source = self._source(source, capture_dir)
        self.serial = serial or _serial_from(self.source)
        self.director = Director(self)
        self.auth = auth
        self.cloud_user, self.cloud_password = cloud_user, cloud_password
        self.installer_password = installer_password
        self.faults = Faults()
        self.tokens = TokenAuthority(
            self.serial,
            secret=token_secret,
            time_func=time_func,
            owner_lifetime_s=token_lifetime_s,
            session_idle_s=session_idle_s,
        )
        self._envoy_app = EnvoyApp(
            self.source,
            self._auth_strategy(),
            self.faults,
            self.serial if serial else None,
            {"token": True, "digest": False}.get(auth),
            self.director,
        )
        self.cloud = CloudApp(self.tokens, self.faults, cloud_user, cloud_password, cloud_user_type, hang_limit_s)
        self._certificate = "server"
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._envoy = Listener(self._envoy_app, self._envoy_context, host, port, self._envoy_app.closing)
        self._cloud = Listener(self.cloud, lambda: self._context("server"), host, cloud_port, self.cloud.closing)
        self._ticker_stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if events:
            self.schedule(events)

    def _source(self, source: Source | None, capture_dir) -> Source:
        if self.scenario is not None:
            return LivingSource(self.scenario, self.clock)
        return source or CaptureSource(capture_dir or DEFAULT_CAPTURE)

    def _auth_strategy(self):
        if self.auth == "token":
            return TokenAuth(self.tokens)
        if self.auth == "digest":
            users = {"envoy": self.serial[-6:], "installer": self.installer_password}
            return DigestAuth(DigestAuthority(users))
        return NoAuth(self.tokens)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind both listeners (OSError when a fixed port is taken)."""
        self._envoy.start()
        try:
            self._cloud.start()
        except OSError:
            self._envoy.stop()
            raise
        if self.director.envoy_down:  # an event before start: a dark or rebooting gateway
            self._envoy.stop()
        self._ticker_stop.clear()
        self._ticker = threading.Thread(target=self._tick_loop, name="sim-events", daemon=True)
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker_stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=5)
        self._ticker = None
        self._envoy.stop()
        self._cloud.stop()

    def _tick_loop(self) -> None:
        while not self._ticker_stop.wait(TICK_S):
            try:
                self.director.tick()
            except Exception:  # an event must never kill the simulator
                log.exception("simulator: event failed")

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- addresses and TLS ----------------------------------------------------------------

    @property
    def envoy_port(self) -> int:
        return self._envoy.port

    @property
    def envoy_host(self) -> str:
        return f"{self._envoy.host}:{self._envoy.port}"

    @property
    def envoy_url(self) -> str:
        return f"https://{self.envoy_host}"

    @property
    def cloud_port(self) -> int:
        return self._cloud.port

    @property
    def cloud_url(self) -> str:
        return f"https://{self._cloud.host}:{self._cloud.port}"

    @property
    def ca_file(self) -> str:
        return tls.CA_FILE

    @property
    def fingerprint(self) -> str:
        """sha256 of the certificate the Envoy serves now: lower-case hex, no colons."""
        return tls.fingerprint(tls.CERTIFICATES[self._certificate][0])

    def use_certificate(self, name: str) -> None:
        """Serve "server" (signed by ca_file) or "impostor" (self-signed) from the next connection."""
        if name not in tls.CERTIFICATES:
            raise ValueError(f"certificate must be one of {', '.join(tls.CERTIFICATES)}")
        self._certificate = name

    def _envoy_context(self) -> ssl.SSLContext:
        return self._context(self._certificate)

    def _context(self, name: str) -> ssl.SSLContext:
        with self._lock:
            if name not in self._contexts:
                self._contexts[name] = tls.server_context(*tls.CERTIFICATES[name])
            return self._contexts[name]

    # --- tokens -------------------------------------------------------------------------

    def issue_token(
        self,
        user_type: str = "owner",
        lifetime_s: float | None = None,
        serial: str | None = None,
        username: str | None = None,
    ) -> str:
        """A JWT as Entrez would issue it (aud = this gateway unless `serial` says otherwise)."""
        return self.tokens.issue(user_type, lifetime_s, serial, username or self.cloud_user)

    def revoke_token(self, token: str | None = None) -> None:
        """Revoke one token, or every token issued so far (None)."""
        self.tokens.revoke(token)

    def revoke_sessions(self) -> None:
        """Forget every sessionId cookie: clients must call /auth/check_jwt again."""
        self.tokens.revoke_sessions()

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, status: int, count: int = 1, path: str | None = None) -> None:
        """The next `count` Envoy requests (matching glob `path`) answer `status`."""
        self.faults.add(Fault(count, path, status=status))

    def delay_next(self, seconds: float, count: int = 1, path: str | None = None) -> None:
        """The next `count` Envoy requests answer normally after `seconds`."""
        self.faults.add(Fault(count, path, delay_s=seconds))

    def hang_next(self, seconds: float = 30.0, count: int = 1, path: str | None = None) -> None:
        """The next `count` Envoy requests get no answer; the connection closes after
        `seconds`, or sooner when the client gives up or the simulator stops."""
        self.faults.add(Fault(count, path, delay_s=seconds, drop=True))

    def clear_faults(self) -> None:
        self.faults.clear()

    def stop_envoy(self) -> None:
        """Close the Envoy listener and its connections: connections are refused."""
        self._envoy.stop()

    def start_envoy(self) -> None:
        """Listen again on the same port."""
        self._envoy.start()

    @property
    def envoy_running(self) -> bool:
        return self._envoy.running

    @property
    def cloud_mode(self) -> str:
        return self.cloud.mode

    @cloud_mode.setter
    def cloud_mode(self, mode: str) -> None:
        if mode not in CLOUD_MODES:
            raise ValueError(f"cloud mode must be one of {', '.join(CLOUD_MODES)}, not {mode!r}")
        self.cloud.mode = mode

    # --- scenario events and the simulated clock ------------------------------------------

    def trigger(self, event: str, **params) -> None:
        """Run one event now: grid_outage, grid_restore, reboot, slow, nightly, revoke_token,
        firmware_update, malformed, cloud_down, cloud_up, clear (see events.py)."""
        self.director.trigger(event, **params)

    def schedule(self, spec: str) -> None:
        """Events for later: "grid_outage@+30s,grid_restore@+90s", "reboot@03:00" (daily)."""
        self.director.schedule(spec)

    def tick(self) -> None:
        """Advance timed conditions and due events now (the ticker does it every 0.1 s)."""
        self.director.tick()

    @property
    def world(self):
        """The physics of a living scenario (None when serving a capture)."""
        return getattr(self.source, "world", None)

    @property
    def sim_time(self) -> float:
        return self.clock.now()

    @property
    def firmware(self) -> str | None:
        return getattr(self.source, "firmware", None)

    # --- counters -----------------------------------------------------------------------

    @property
    def request_counts(self) -> dict[str, int]:
        """Envoy requests per path (query left out)."""
        return self.faults.counts()["paths"]

    @property
    def auth_counts(self) -> dict[str, int]:
        """Envoy requests per credential presented: bearer, cookie, digest, none."""
        return self.faults.counts()["auth"]

    @property
    def cloud_counts(self) -> dict[str, int]:
        """Cloud calls: login (attempts), login_ok, tokens (requests), tokens_issued."""
        return self.faults.counts()["cloud"]

    def reset_counts(self) -> None:
        self.faults.reset_counts()


def _scenario(scenario, serial, timezone, nightly) -> Scenario:
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    changes = {}
    if serial:
        changes["serial"] = serial
    if timezone:
        changes["timezone"] = timezone
    if not nightly:
        changes["nightly_hiccup_minutes"] = 0.0
    return replace(loaded, **changes) if changes else loaded


def _serial_from(source: Source) -> str:
    status, _, body = source.answer("/info", "")
    if status != 200:
        raise ValueError("the capture has no /info: pass serial=")
    return parse_info(body).serial
