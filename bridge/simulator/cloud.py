"""The fake Enphase cloud: Enlighten and Entrez on one server, three flows to a token (reference
§3.2-3.4). A bridge points both `cloud.enlighten_url` and `cloud.entrez_url` at it.

- entrez_json: POST /login/login.json (form user[email], user[password]) -> JSON with a
  session_id (and the _enlighten_4_session cookie); POST /tokens (JSON session_id, serial_num,
  username) -> the JWT as text/plain.
- enlighten_get: the same login; GET /entrez-auth-token?serial_num=S with that cookie -> JSON
  {generation_time, token, expires_at}.
- entrez_form: POST /login (form username, password) -> a SESSION cookie; POST /entrez_tokens
  (form serialNum) with it -> an HTML page whose textarea holds the token.

Global modes, for every path: ok, bad_password (every login refused), mfa (every login asks for
a code), down (503), hang (no answer until the client gives up, the server stops or
`hang_limit_s` passes). On top, one failure per flow (`fail`, `heal`; cloudreplies.py says what
each answers). The Enlighten login is shared: `mfa` on entrez_json or enlighten_get makes it ask
for a code in both flows. Sessions end after `session_idle_s` without use, or `forget_sessions`.
Counters (faults.count_cloud): one per path (login, tokens, entrez_auth_token, entrez_login,
entrez_tokens); login_ok / entrez_login_ok per session opened; tokens_issued for every token
and `<flow>_issued` per flow.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import jwt

from bridge.simulator import cloudreplies as replies
from bridge.simulator.cloudsessions import ENLIGHTEN, ENTREZ, CloudSessions
from bridge.simulator.faults import Faults
from bridge.simulator.httpd import Request, Response, wait_or_gone
from bridge.simulator.tokens import SESSION_IDLE_S, TokenAuthority

ENTREZ_JSON, ENLIGHTEN_GET, ENTREZ_FORM = replies.FLOWS


@dataclass(frozen=True)
class _Route:
    method: str
    counter: str  # the faults.count_cloud name of every request to this path
    serve: Callable[[Request], Response]
    flow: str | None = None  # a token step: the flow whose refusals it answers
    serial: Callable[[Request], str] | None = None  # a token step: the serial it was asked for


class CloudApp:
    def __init__(
        self,
        tokens: TokenAuthority,
        faults: Faults,
        user: str,
        password: str,
        user_type: str = "owner",
        hang_limit_s: float = 30.0,
        session_idle_s: float = SESSION_IDLE_S,
        time_func: Callable[[], float] = time.time,
    ):
        self.tokens, self.faults = tokens, faults
        self.user, self.password, self.user_type = user, password, user_type
        self.hang_limit_s = hang_limit_s
        self.mode = "ok"
        self.closing = threading.Event()
        self.sessions = CloudSessions(session_idle_s, time_func)
        self._failures: dict[str, str] = {}  # flow -> failure
        self._lock = threading.Lock()
        self._routes = {
            "/login/login.json": _Route("POST", "login", self._enlighten_login),
            "/tokens": _Route("POST", "tokens", self._entrez_json_token, ENTREZ_JSON, _json_serial),
            "/entrez-auth-token": _Route(
                "GET", "entrez_auth_token", self._enlighten_get_token, ENLIGHTEN_GET, _query_serial
            ),
            "/login": _Route("POST", "entrez_login", self._entrez_login),
            "/entrez_tokens": _Route("POST", "entrez_tokens", self._entrez_form_token, ENTREZ_FORM, _form_serial),
        }

    def handle(self, request: Request) -> Response | None:
        route = self._routes.get(request.path)
        if route:
            self.faults.count_cloud(route.counter)
        if self.mode == "down":
            return replies.json_reply(503, {"message": "Service Unavailable"})
        if self.mode == "hang":
            wait_or_gone(request.connection, self.hang_limit_s, self.closing)
            return None
        if route is None or request.method != route.method:
            return replies.not_found()
        return self._refused(route, request) or route.serve(request)

    def _refused(self, route: _Route, request: Request) -> Response | None:
        """The refusal of a token step whose flow is set to refuse, else None."""
        if route.flow is None or route.serial is None:
            return None
        failure = self._failure(route.flow)
        if failure is None or failure not in replies.REFUSALS:
            return None
        return replies.refusal(route.flow, failure, route.serial(request))

    # --- failures per flow ----------------------------------------------------------------

    def plan(self, mode: str, failures: dict[str, str]) -> None:
        """The mode and the failing flows a scenario starts with."""
        replies.check_mode(mode)
        self.mode = mode
        for flow, failure in failures.items():
            self.fail(flow, failure)

    def fail(self, flow: str, failure: str) -> None:
        """From now on `flow` fails with `failure` (replacing its previous one)."""
        replies.check_failure(flow, failure)
        with self._lock:
            self._failures[flow] = failure

    def heal(self, flow: str | None = None) -> None:
        """`flow` (None: every flow) works again."""
        if flow is not None:
            replies.check_flow(flow)
        with self._lock:
            if flow is None:
                self._failures.clear()
            else:
                self._failures.pop(flow, None)

    @property
    def failures(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failures)

    def _failure(self, flow: str) -> str | None:
        with self._lock:
            return self._failures.get(flow)

    def forget_sessions(self) -> None:
        """Cloud sessions expire; tests can make every one of them do so now."""
        self.sessions.forget()

    # --- logins -----------------------------------------------------------------------------

    def _accepts(self, email: str, password: str) -> bool:
        return email.lower() == self.user.lower() and password == self.password and self.mode != "bad_password"

    def _asks_for_code(self, *flows: str) -> bool:
        return self.mode == "mfa" or any(self._failure(flow) == "mfa" for flow in flows)

    def _enlighten_login(self, request: Request) -> Response:
        email, password = _form_value(request, "user[email]"), _form_value(request, "user[password]")
        if not self._accepts(email, password):
            return replies.json_reply(401, {"message": "Invalid"})
        if self._asks_for_code(ENTREZ_JSON, ENLIGHTEN_GET):
            return replies.enlighten_mfa()
        self.faults.count_cloud("login_ok")
        return replies.enlighten_session(self.sessions.open(ENLIGHTEN, email))

    def _entrez_login(self, request: Request) -> Response:
        email, password = _form_value(request, "username"), _form_value(request, "password")
        if not self._accepts(email, password):
            return replies.entrez_bad_login()
        if self._asks_for_code(ENTREZ_FORM):
            return replies.entrez_mfa()
        self.faults.count_cloud("entrez_login_ok")
        return replies.entrez_signed_in(self.sessions.open(ENTREZ, email))

    # --- token steps (refusals were answered before) ----------------------------------------------

    def _entrez_json_token(self, request: Request) -> Response:
        data = _json_object(request.body)
        if data is None:
            return replies.json_reply(400, {"message": "Bad Request"})
        serial = str(data.get("serial_num") or "")
        if not serial:
            return replies.json_reply(400, {"message": "serial_num is required"})
        email = self.sessions.use(ENLIGHTEN, str(data.get("session_id") or ""))
        if email is None or str(data.get("username") or "").lower() != email.lower():
            return replies.refusal(ENTREZ_JSON, "sign_in", serial)
        return Response(200, self._issue(ENTREZ_JSON, serial, email).encode(), "text/plain")

    def _enlighten_get_token(self, request: Request) -> Response:
        serial = _query_serial(request)
        email = self.sessions.use(ENLIGHTEN, _cookie(request, replies.ENLIGHTEN_COOKIE))
        if email is None:
            return replies.refusal(ENLIGHTEN_GET, "sign_in", serial)
        if not serial:
            return replies.refusal(ENLIGHTEN_GET, "invalid_serial", serial)
        token = self._issue(ENLIGHTEN_GET, serial, email)
        claims = jwt.decode(token, options={"verify_signature": False})
        return replies.json_reply(200, {"generation_time": claims["iat"], "token": token, "expires_at": claims["exp"]})

    def _entrez_form_token(self, request: Request) -> Response:
        serial = _form_serial(request)
        email = self.sessions.use(ENTREZ, _cookie(request, replies.ENTREZ_COOKIE))
        if email is None:
            return replies.refusal(ENTREZ_FORM, "sign_in", serial)
        if not serial:
            return replies.refusal(ENTREZ_FORM, "invalid_serial", serial)
        return replies.token_page(self._issue(ENTREZ_FORM, serial, email))

    def _issue(self, flow: str, serial: str, email: str) -> str:
        failure = self._failure(flow)
        user_type = "installer" if failure == "installer" else self.user_type
        audience = replies.other_serial(serial) if failure == "wrong_serial" else serial
        token = self.tokens.issue(user_type, serial=audience, username=email)
        self.faults.count_cloud("tokens_issued")
        self.faults.count_cloud(f"{flow}_issued")
        return token


# --- reading requests ------------------------------------------------------------------------------


def _form_value(request: Request, name: str) -> str:
    return (parse_qs(request.body.decode("utf-8", "replace")).get(name) or [""])[0]


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _json_serial(request: Request) -> str:
    return str((_json_object(request.body) or {}).get("serial_num") or "")


def _query_serial(request: Request) -> str:
    return (parse_qs(request.query).get("serial_num") or [""])[0]


def _form_serial(request: Request) -> str:
    return _form_value(request, "serialNum")


def _cookie(request: Request, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load("; ".join(request.headers.get_all("Cookie") or []))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None
