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

`check_jwt="post"` (or "get", "absent"; a scenario's `check_jwt` key) makes /auth/check_jwt
answer one method only, or not at all. Fault hooks (all thread-safe): revoke_sessions,
revoke_token, fail_next, delay_next, hang_next, clear_faults, stop_envoy/start_envoy,
cloud_mode, cloud_fail/cloud_heal (a failure per cloud flow, see cloud.py), use_certificate;
`cloud_api=True` also serves the fake Enlighten API v4 (`cloud_api`, `cloud_api_url`; cloudapi.py);
counters: request_counts, auth_counts, cloud_counts, write_counts, reset_counts. Events: trigger, schedule,
tick (see events.py). The physics: world, sim_time, energy_totals.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bridge.simulator import assembly, tls
from bridge.simulator.cloud import CloudApp
from bridge.simulator.cloudapi import CloudApiApp
from bridge.simulator.cloudreplies import check_mode
from bridge.simulator.envoy import AUTH_MODES, EnvoyApp
from bridge.simulator.events import Director
from bridge.simulator.faults import Fault, Faults
from bridge.simulator.httpd import Listener
from bridge.simulator.physics import World
from bridge.simulator.scenario import Scenario
from bridge.simulator.source import Source
from bridge.simulator.tokens import OWNER_LIFETIME_S, SESSION_IDLE_S, TokenAuthority

DEFAULT_CLOUD_USER = "owner@example.com"
DEFAULT_CLOUD_PASSWORD = "simulator-password"  # noqa: S105 - public: the fake cloud protects nothing
DEFAULT_INSTALLER_PASSWORD = "installer-password"  # noqa: S105 - public too: digest mode on loopback
TICK_S = 0.1  # how often timed events are checked: reboots end, schedules fire
log = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self,
        capture_dir: str | Path | None = None,
        serial: str | None = None,
        auth: str = "token",
        *,
        check_jwt: str | None = None,
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
        cloud_api: bool = False,
        cloud_api_port: int = 0,
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
        self.scenario = assembly.tailored_scenario(scenario, serial, timezone, nightly)
        self.clock = assembly.scenario_clock(self.scenario, time_func, time_factor, start, timezone)
        self.source = assembly.pick_source(self.scenario, self.clock, source, capture_dir)
        self.serial = serial or assembly.serial_of(self.source)
        self.director = Director(self)
        self.auth, self.check_jwt = auth, assembly.check_jwt_mode(self.scenario, check_jwt)
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
            assembly.auth_strategy(auth, self.tokens, self.serial, installer_password),
            self.faults,
            self.serial if serial else None,
            assembly.WEB_TOKENS.get(auth),
            self.director,
            self.check_jwt,
        )
        account = (cloud_user, cloud_password, cloud_user_type)
        self.cloud = CloudApp(self.tokens, self.faults, *account, hang_limit_s, session_idle_s, time_func)
        if self.scenario is not None:
            self.cloud.plan(self.scenario.cloud.mode, self.scenario.cloud.failures)
        self._certificates = tls.ServedCertificates()
        self._envoy = Listener(self._envoy_app, self._certificates.context, host, port, self._envoy_app.closing)
        cloud_context = functools.partial(self._certificates.context, "server")  # never the impostor
        self._cloud = Listener(self.cloud, cloud_context, host, cloud_port, self.cloud.closing)
        self.cloud_api: CloudApiApp | None = assembly.cloud_api(self, account[:2]) if cloud_api else None
        self._cloud_api = Listener(self.cloud_api, cloud_context, host, cloud_api_port) if self.cloud_api else None
        self._ticker_stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if events:
            self.schedule(events)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind both listeners (OSError when a fixed port is taken)."""
        self._envoy.start()
        try:
            self._cloud.start()
            if self._cloud_api is not None:
                self._cloud_api.start()
        except OSError:
            self._envoy.stop()
            self._cloud.stop()
            raise
        if self.director.envoy_down:  # an event before start: a dark or rebooting gateway
            self.stop_envoy()
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
        if self._cloud_api is not None:
            self._cloud_api.stop()

    def _tick_loop(self) -> None:
        while not self._ticker_stop.wait(TICK_S):
            self._tick_safely()

    def _tick_safely(self) -> None:
        try:
            self.director.tick()
        except Exception:  # an event must never kill the simulator
            log.exception("simulator: event failed")

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
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
    def cloud_api_url(self) -> str:
        """The fake Enlighten API v4's base URL, for both oauth_url and api_url (cloud_api=True only)."""
        if self._cloud_api is None:
            raise ValueError("the fake cloud API is off: Simulator(cloud_api=True)")
        return f"https://{self._cloud_api.host}:{self._cloud_api.port}"

    @property
    def ca_file(self) -> str:
        return tls.CA_FILE

    @property
    def fingerprint(self) -> str:
        """sha256 of the certificate the Envoy serves now: lower-case hex, no colons."""
        return self._certificates.fingerprint

    def use_certificate(self, name: str) -> None:
        """Serve "server" (signed by ca_file) or "impostor" (self-signed) from the next connection."""
        self._certificates.use(name)

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
        """Close the Envoy listener and its connections: connections are refused (and the
        cloud API's data stop at the gateway's last report)."""
        self._envoy.stop()
        if self.cloud_api is not None:
            self.cloud_api.data.went_offline()

    def start_envoy(self) -> None:
        """Listen again on the same port."""
        self._envoy.start()
        if self.cloud_api is not None:
            self.cloud_api.data.came_online()

    @property
    def envoy_running(self) -> bool:
        return self._envoy.running

    @property
    def cloud_mode(self) -> str:
        return self.cloud.mode

    @cloud_mode.setter
    def cloud_mode(self, mode: str) -> None:
        """ok, bad_password, mfa, down or hang: for every path of the fake cloud."""
        check_mode(mode)
        self.cloud.mode = mode

    def cloud_fail(self, flow: str, failure: str) -> None:
        """From now on the cloud's `flow` fails with `failure` (names in cloud.py)."""
        self.cloud.fail(flow, failure)

    def cloud_heal(self, flow: str | None = None) -> None:
        """`flow` (None: every flow) works again; the global mode stays."""
        self.cloud.heal(flow)

    # --- scenario events and the simulated clock ------------------------------------------

    def trigger(self, event: str, **params: object) -> None:
        """Run one event now: grid_outage, grid_restore, reboot, slow, nightly, revoke_token,
        firmware_update, malformed, cloud_down, cloud_up, cloud_fail, cloud_heal,
        storage_mode_revert, clear."""
        self.director.trigger(event, **params)

    def schedule(self, spec: str) -> None:
        """Events for later: "grid_outage@+30s,grid_restore@+90s", "reboot@03:00" (daily)."""
        self.director.schedule(spec)

    def tick(self) -> None:
        """Advance timed conditions and due events now (the ticker does it every 0.1 s)."""
        self.director.tick()

    @property
    def world(self) -> World | None:
        """The physics of a living scenario (None when serving a capture)."""
        world: World | None = getattr(self.source, "world", None)
        return world

    def energy_totals(self) -> dict[str, float]:
        """The physics' lifetime energy up to now, Wh: production, consumption, import, export,
        charged, discharged (see World.energy_totals); ValueError when serving a capture."""
        if self.world is None:
            raise ValueError("energy totals need a living scenario, not a capture")
        return self.world.energy_totals()

    @property
    def sim_time(self) -> float:
        return self.clock.now()

    @property
    def firmware(self) -> str | None:
        firmware: str | None = getattr(self.source, "firmware", None)
        return firmware

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
        """Cloud calls per path, sessions opened, tokens issued (the names are in cloud.py)."""
        return self.faults.counts()["cloud"]

    @property
    def write_counts(self) -> dict[str, int]:
        """Envoy writes (POST, PUT, DELETE) per path, whatever their answer: {} when nothing
        was sent to the gateway."""
        return self.faults.counts()["writes"]

    def reset_counts(self) -> None:
        self.faults.reset_counts()
