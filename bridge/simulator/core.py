"""`Simulator`: a fake Envoy and a fake Enphase cloud over real HTTPS on loopback.

    with Simulator("path/to/capture") as sim:
        token = sim.issue_token()
        requests.get(sim.envoy_url + "/ivp/meters/readings", verify=sim.ca_file,
                     headers={"Authorization": f"Bearer {token}"})

Fault hooks (all thread-safe): revoke_sessions, revoke_token, fail_next, delay_next,
hang_next, clear_faults, stop_envoy/start_envoy, cloud_mode, use_certificate; counters:
request_counts, auth_counts, cloud_counts, reset_counts.
"""

from __future__ import annotations

import ssl
import threading
import time
from pathlib import Path
from typing import Callable

from bridge.model.info import parse_info
from bridge.simulator import tls
from bridge.simulator.cloud import CLOUD_MODES, CloudApp
from bridge.simulator.digest import DigestAuthority
from bridge.simulator.envoy import AUTH_MODES, DigestAuth, EnvoyApp, NoAuth, TokenAuth
from bridge.simulator.faults import Fault, Faults
from bridge.simulator.httpd import Listener
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource, Source
from bridge.simulator.tokens import OWNER_LIFETIME_S, SESSION_IDLE_S, TokenAuthority

DEFAULT_CLOUD_USER = "owner@example.com"
DEFAULT_CLOUD_PASSWORD = "simulator-password"  # public: the fake cloud protects nothing
DEFAULT_INSTALLER_PASSWORD = "installer-password"


class Simulator:
    def __init__(self, capture_dir: str | Path | None = None, serial: str | None = None,
                 auth: str = "token", *, source: Source | None = None,
                 time_func: Callable[[], float] = time.time,
                 token_lifetime_s: float = OWNER_LIFETIME_S,
                 cloud_user: str = DEFAULT_CLOUD_USER, cloud_password: str = DEFAULT_CLOUD_PASSWORD,
                 cloud_user_type: str = "owner", installer_password: str = DEFAULT_INSTALLER_PASSWORD,
                 host: str = "127.0.0.1", port: int = 0, cloud_port: int = 0,
                 token_secret: bytes | None = None, session_idle_s: float = SESSION_IDLE_S,
                 hang_limit_s: float = 30.0):
        if auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
        self.source = source or CaptureSource(capture_dir or DEFAULT_CAPTURE)
        self.serial = serial or _serial_from(self.source)
        self.auth = auth
        self.cloud_user, self.cloud_password = cloud_user, cloud_password
        self.installer_password = installer_password
        self.faults = Faults()
        self.tokens = TokenAuthority(self.serial, secret=token_secret, time_func=time_func,
                                     owner_lifetime_s=token_lifetime_s, session_idle_s=session_idle_s)
        self._envoy_app = EnvoyApp(self.source, self._auth_strategy(), self.faults,
                                   self.serial if serial else None,
                                   {"token": True, "digest": False}.get(auth))
        self.cloud = CloudApp(self.tokens, self.faults, cloud_user, cloud_password,
                              cloud_user_type, hang_limit_s)
        self._certificate = "server"
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._envoy = Listener(self._envoy_app, self._envoy_context, host, port,
                               self._envoy_app.closing)
        self._cloud = Listener(self.cloud, lambda: self._context("server"), host, cloud_port,
                               self.cloud.closing)

    def _auth_strategy(self):
        if self.auth == "token":
            return TokenAuth(self.tokens)
        if self.auth == "digest":
            users = {"envoy": self.serial[-6:], "installer": self.installer_password}
            return DigestAuth(DigestAuthority(users))
        return NoAuth(self.tokens)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> "Simulator":
        """Bind both listeners (OSError when a fixed port is taken)."""
        self._envoy.start()
        try:
            self._cloud.start()
        except OSError:
            self._envoy.stop()
            raise
        return self

    def stop(self) -> None:
        self._envoy.stop()
        self._cloud.stop()

    def __enter__(self) -> "Simulator":
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

    def issue_token(self, user_type: str = "owner", lifetime_s: float | None = None,
                    serial: str | None = None, username: str | None = None) -> str:
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


def _serial_from(source: Source) -> str:
    status, _, body = source.answer("/info", "")
    if status != 200:
        raise ValueError("the capture has no /info: pass serial=")
    return parse_info(body).serial
