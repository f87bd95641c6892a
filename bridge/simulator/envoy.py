"""The simulated gateway's HTTP behaviour: faults, authentication, then the source's answer."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Protocol

from bridge.simulator.digest import DigestAuthority
from bridge.simulator.faults import Fault, Faults
from bridge.simulator.httpd import Request, Response, wait_or_gone
from bridge.simulator.source import Source, Writable
from bridge.simulator.tokens import TokenAuthority

AUTH_MODES = ("token", "digest", "none")
WRITES = ("POST", "PUT", "DELETE")
VALID_TOKEN_BODY = b"<!DOCTYPE html><h2>Valid token.</h2>"
# What a firmware 7+ gateway shows when check_jwt fails (Matthew1471 Auth/Check_JWT.adoc).
INVALID_TOKEN_BODY = (
    b"<!DOCTYPE html><html><head><title>401 Unauthorized</title></head>"
    b"<body><h2>401 Unauthorized</h2><p>Invalid token.</p></body></html>"
)
# The body real gateways send with a 401 on data endpoints (3.9.36_bad_auth capture).
AUTH_REQUIRED = json.dumps({"status": 401, "error": "", "info": "Authentication required", "moreInfo": ""}).encode()


def error_response(status: int) -> Response:
    if status == 401:
        return Response(401, AUTH_REQUIRED, "application/json")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return Response(status, json.dumps({"status": status, "error": reason}).encode(), "application/json")


def check_jwt_refusal(mode: str, method: str) -> Response | None:
    """What a firmware without check_jwt (404), or without this method of it (405), answers."""
    if mode == "absent":
        return error_response(404)
    allowed = mode.upper()
    if mode != "any" and method != allowed:
        return replace(error_response(405), headers=[("Allow", allowed)])
    return None


def credentials(request: Request) -> tuple[str | None, str | None, str | None]:
    """(bearer token, sessionId cookie, digest header) as presented, each possibly None."""
    header = request.headers.get("Authorization") or ""
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
    digest = header if header[:7].lower() == "digest " else None
    cookie = None
    try:
        jar = SimpleCookie("; ".join(request.headers.get_all("Cookie") or []))
        cookie = jar["sessionId"].value if "sessionId" in jar else None
    except CookieError:
        pass
    return bearer, cookie, digest


def auth_kinds(request: Request) -> list[str]:
    bearer, cookie, digest = credentials(request)
    return [kind for kind, value in (("bearer", bearer), ("cookie", cookie), ("digest", digest)) if value]


class Auth(Protocol):
    """How the gateway checks credentials: TokenAuth, DigestAuth or NoAuth."""

    def check_jwt(self, request: Request) -> Response: ...

    def authorize(self, request: Request) -> Response | None:
        """None lets the request through; otherwise the refusal to send."""

    def role(self, request: Request) -> str:
        """Who an authorized request comes from: "owner" or "installer"."""


class Conditions(Protocol):
    """Scenario-level conditions (events.Director) the app consults around every request."""

    def before(self, request: Request) -> Fault | None: ...

    def after(self, request: Request, response: Response) -> Response: ...


class TokenAuth:
    """Firmware 7+: a JWT at /auth/check_jwt buys a sessionId; data wants either."""

    def __init__(self, tokens: TokenAuthority):
        self.tokens = tokens

    def check_jwt(self, request: Request) -> Response:
        bearer, _, _ = credentials(request)
        claims = self.tokens.verify(bearer) if bearer else None
        if claims is None:
            return Response(401, INVALID_TOKEN_BODY, "text/html")
        cookie = f"sessionId={self.tokens.open_session(str(claims.get('enphaseUser')))}; Path=/; HttpOnly; Secure"
        return Response(200, VALID_TOKEN_BODY, "text/html", [("Set-Cookie", cookie)])

    def authorize(self, request: Request) -> Response | None:
        bearer, cookie, _ = credentials(request)
        if cookie and self.tokens.use_session(cookie):
            return None
        if bearer and self.tokens.verify(bearer) is not None:
            return None
        return error_response(401)

    def role(self, request: Request) -> str:
        """The session's role when its cookie is good (it wins, as in authorize), else the token's."""
        bearer, cookie, _ = credentials(request)
        role = self.tokens.session_role(cookie) if cookie else None
        if role is None and bearer:
            role = (self.tokens.verify(bearer) or {}).get("enphaseUser")
        return "installer" if role == "installer" else "owner"


class DigestAuth:
    """Firmware < 7: HTTP digest on every endpoint but /info; there is no check_jwt."""

    def __init__(self, digest: DigestAuthority):
        self.digest = digest

    def check_jwt(self, request: Request) -> Response:
        return error_response(404)

    def authorize(self, request: Request) -> Response | None:
        if self.digest.check(request.method, request.headers.get("Authorization")):
            return None
        return Response(401, b"Error: 401", "text/plain", [("WWW-Authenticate", self.digest.challenge())])

    def role(self, request: Request) -> str:
        header = request.headers.get("Authorization") or ""
        return "installer" if re.search(r'username="installer"', header) else "owner"


class NoAuth:
    """Everything open; check_jwt still hands out a cookie so token clients work."""

    def __init__(self, tokens: TokenAuthority):
        self.tokens = tokens

    def check_jwt(self, request: Request) -> Response:
        cookie = f"sessionId={self.tokens.open_session()}; Path=/; HttpOnly; Secure"
        return Response(200, VALID_TOKEN_BODY, "text/html", [("Set-Cookie", cookie)])

    def authorize(self, request: Request) -> Response | None:
        return None

    def role(self, request: Request) -> str:
        return "installer"  # everything open


def rewrite_info(body: bytes, serial: str | None, web_tokens: bool | None) -> bytes:
    """Serve /info with the simulator's serial and a web-tokens flag that matches its auth."""
    if serial:
        body = re.sub(rb"<sn>[^<]*</sn>", b"<sn>" + serial.encode() + b"</sn>", body, count=1)
    if web_tokens is None:
        return body
    flag = b"<web-tokens>" + (b"true" if web_tokens else b"false") + b"</web-tokens>"
    if re.search(rb"<web-tokens>", body):
        return re.sub(rb"<web-tokens>[^<]*</web-tokens>", flag, body, count=1)
    if not web_tokens:
        return body  # old firmware has no flag at all: absent means no tokens
    return re.sub(rb"(\s*)</envoy_info>", rb"\1" + flag + rb"\1</envoy_info>", body, count=1)


class EnvoyApp:
    """Order of checks: count, injected fault or scenario condition, /info (open), check_jwt
    (as `check_jwt`, one of scenario.CHECK_JWT_MODES, allows), auth, source (its JSON
    possibly mangled by a malformed-bodies event)."""

    def __init__(
        self,
        source: Source,
        auth: Auth,
        faults: Faults,
        serial: str | None,
        web_tokens: bool | None,
        conditions: Conditions | None = None,
        check_jwt: str = "any",
    ):
        self.source, self.auth, self.faults = source, auth, faults
        self.serial, self.web_tokens = serial, web_tokens
        self.conditions, self.check_jwt = conditions, check_jwt
        self.closing = threading.Event()  # set when the listener stops: ends delays and hangs

    def handle(self, request: Request) -> Response | None:
        self.faults.count_request(request.path, auth_kinds(request), request.method)
        fault = self.faults.take(request.path)
        if fault is None and self.conditions is not None:
            fault = self.conditions.before(request)
        if fault is not None:
            if fault.drop:
                wait_or_gone(request.connection, fault.delay_s, self.closing)
                return None
            if fault.delay_s:
                self.closing.wait(fault.delay_s)
            if fault.status is not None:
                return error_response(fault.status)
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        if request.path == "/info":
            return self._info()
        if request.path == "/auth/check_jwt":
            return check_jwt_refusal(self.check_jwt, request.method) or self.auth.check_jwt(request)
        denied = self.auth.authorize(request)
        if denied is not None:
            return denied
        writable = self.source if isinstance(self.source, Writable) else None
        if writable and writable.installer_only(request.path) and self.auth.role(request) != "installer":
            return error_response(401)  # an owner token on an installer endpoint, as a real gateway
        if request.method in WRITES and writable:
            status, content_type, body = writable.write(request.method, request.path, request.body)
        elif request.method in ("GET", "HEAD"):
            status, content_type, body = self.source.answer(request.path, request.query)
        else:
            return error_response(405)
        response = Response(status, body, content_type)
        return self.conditions.after(request, response) if self.conditions is not None else response

    def _info(self) -> Response:
        status, content_type, body = self.source.answer("/info", "")
        if status == 200:
            body = rewrite_info(body, self.serial, self.web_tokens)
        return Response(status, body, content_type)
