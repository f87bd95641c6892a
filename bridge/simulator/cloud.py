"""The fake Enphase cloud: Enlighten `login/login.json` and Entrez `tokens` on one server.

Modes, switchable at run time: ok, bad_password (every login refused), mfa (login "succeeds"
without a session_id, as with multi-factor authentication on), down (503 everywhere), hang
(no answer until the client gives up, the server stops or `hang_limit_s` passes).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable
from urllib.parse import parse_qs

from bridge.simulator.faults import Faults
from bridge.simulator.httpd import Request, Response, wait_or_gone
from bridge.simulator.tokens import TokenAuthority

CLOUD_MODES = ("ok", "bad_password", "mfa", "down", "hang")
LOGIN_PATH = "/login/login.json"
TOKENS_PATH = "/tokens"


def _json(status: int, payload: dict[str, object], headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", list(headers))


class CloudApp:
    def __init__(
        self,
        tokens: TokenAuthority,
        faults: Faults,
        user: str,
        password: str,
        user_type: str = "owner",
        hang_limit_s: float = 30.0,
    ):
        self.tokens, self.faults = tokens, faults
        self.user, self.password, self.user_type = user, password, user_type
        self.hang_limit_s = hang_limit_s
        self.mode = "ok"
        self.closing = threading.Event()
        self._sessions: dict[str, str] = {}  # Enlighten session_id -> e-mail
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response | None:
        event = {LOGIN_PATH: "login", TOKENS_PATH: "tokens"}.get(request.path)
        if event:
            self.faults.count_cloud(event)
        mode = self.mode
        if mode == "down":
            return _json(503, {"message": "Service Unavailable"})
        if mode == "hang":
            wait_or_gone(request.connection, self.hang_limit_s, self.closing)
            return None
        if request.method == "POST" and event == "login":
            return self._login(request)
        if request.method == "POST" and event == "tokens":
            return self._issue(request)
        return _json(404, {"message": "Not Found"})

    def _login(self, request: Request) -> Response:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        email = (form.get("user[email]") or [""])[0]
        password = (form.get("user[password]") or [""])[0]
        right = email.lower() == self.user.lower() and password == self.password
        if not right or self.mode == "bad_password":
            return _json(401, {"message": "Invalid email or password", "success": False})
        if self.mode == "mfa":
            nonce = f"login_otp_nonce={secrets.token_hex(16)}; Path=/; HttpOnly; Secure"
            return _json(200, {"success": True, "isBlocked": False}, [("Set-Cookie", nonce)])
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = email
        self.faults.count_cloud("login_ok")
        return _json(
            200,
            {
                "message": "success",
                "session_id": session_id,
                "manager_token": secrets.token_urlsafe(48),
                "is_consumer": True,
                "system_id": "1000001",
                "redirect_url": "",
            },
        )

    def _issue(self, request: Request) -> Response:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return _json(400, {"message": "Bad Request"})
        if not isinstance(data, dict) or not data.get("serial_num"):
            return _json(400, {"message": "serial_num is required"})
        with self._lock:
            email = self._sessions.get(str(data.get("session_id")))
        if email is None or str(data.get("username", "")).lower() != email.lower():
            return _json(401, {"message": "Invalid session"})
        token = self.tokens.issue(self.user_type, serial=str(data["serial_num"]), username=email)
        self.faults.count_cloud("tokens_issued")
        return Response(200, token.encode(), "text/plain")

    def forget_sessions(self) -> None:
        """Enlighten sessions expire; tests can make them do so now."""
        with self._lock:
            self._sessions.clear()
