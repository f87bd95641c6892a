"""The simulated gateway's HTTP behaviour, request by request, without a socket."""

from __future__ import annotations

import json
from email.message import Message

import pytest

from bridge.simulator.digest import DigestAuthority
from bridge.simulator.envoy import (
    AUTH_REQUIRED,
    DigestAuth,
    EnvoyApp,
    NoAuth,
    TokenAuth,
    auth_kinds,
    credentials,
    error_response,
    rewrite_info,
)
from bridge.simulator.faults import Fault, Faults
from bridge.simulator.httpd import Request, Response
from bridge.simulator.tokens import TokenAuthority
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START

SERIAL = "999000000001"
INFO = b"<envoy_info>\n  <device><sn>121430030548</sn></device>\n</envoy_info>\n"


def request(path: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> Request:
    message = Message()
    for name, value in headers:
        message[name] = value
    return Request(method, path, "", message, body, connection=None)  # no fault here drops a connection


class Answers:
    """A source with fixed answers."""

    def answer(self, path: str, query: str) -> tuple[int, str, bytes]:
        if path == "/info":
            return 200, "text/xml", INFO
        return 200, "application/json", b'{"wattsNow": 5}'


class Mangler:
    """Scenario conditions that refuse one path and mark every other answer."""

    def __init__(self):
        self.after_calls = 0

    def before(self, req: Request) -> Fault | None:
        return Fault(1, status=503) if req.path == "/ivp/meters" else None

    def after(self, req: Request, response: Response) -> Response:
        self.after_calls += 1
        return Response(response.status, response.body + b" mangled", response.content_type)


class Switch(Answers):
    """A source that takes writes: it echoes what was written where; /ivp/mod is the installer's."""

    def write(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        return 200, "application/json", f"{method} {path} ".encode() + body

    def installer_only(self, path: str) -> bool:
        return path.startswith("/ivp/mod/")


@pytest.fixture
def tokens():
    return TokenAuthority(SERIAL, time_func=FakeClock(START))


def app_with(auth, conditions=None, check_jwt="any") -> EnvoyApp:
    return EnvoyApp(Answers(), auth, Faults(), SERIAL, True, conditions, check_jwt)


def test_credentials_as_presented():
    req = request(
        "/x",
        headers=(("Authorization", "bearer abc.def.ghi "), ("Cookie", "a=1"), ("Cookie", "sessionId=s1; b=2")),
    )
    assert credentials(req) == ("abc.def.ghi", "s1", None)
    assert auth_kinds(req) == ["bearer", "cookie"]
    digest = request("/x", headers=(("Authorization", 'Digest username="envoy"'), ("Cookie", "\x00bad")))
    assert credentials(digest) == (None, None, 'Digest username="envoy"') and auth_kinds(digest) == ["digest"]
    assert auth_kinds(request("/x")) == []


def test_error_bodies_like_the_gateway_sends():
    assert error_response(401).body == AUTH_REQUIRED
    assert json.loads(error_response(503).body) == {"status": 503, "error": "Service Unavailable"}
    assert json.loads(error_response(799).body) == {"status": 799, "error": "Error"}


def test_info_gets_the_serial_and_a_web_tokens_flag_matching_the_auth():
    assert rewrite_info(INFO, None, None) == INFO
    assert b"<sn>999000000777</sn>" in rewrite_info(INFO, "999000000777", None)
    added = rewrite_info(INFO, None, True)
    assert b"</device>\n<web-tokens>true</web-tokens>\n</envoy_info>" in added  # before the end tag
    assert rewrite_info(INFO, None, False) == INFO  # old firmware: no flag means no tokens
    assert b"<web-tokens>false</web-tokens>" in rewrite_info(added, None, False)


def test_token_auth_in_the_gateway_s_order(tokens):
    app = app_with(TokenAuth(tokens))
    info = app.handle(request("/info"))
    assert info is not None and info.status == 200 and b"<sn>999000000001</sn>" in info.body  # open
    denied = app.handle(request("/api/v1/production"))
    assert denied is not None and (denied.status, denied.body) == (401, AUTH_REQUIRED)
    refused = app.handle(request("/auth/check_jwt", headers=(("Authorization", "Bearer nope"),)))
    assert refused is not None and refused.status == 401 and b"Invalid token" in refused.body
    bearer = ("Authorization", f"Bearer {tokens.issue()}")
    checked = app.handle(request("/auth/check_jwt", headers=(bearer,)))
    assert checked is not None and checked.status == 200
    cookie = dict(checked.headers)["Set-Cookie"].split(";")[0]
    data = app.handle(request("/api/v1/production", headers=(("Cookie", cookie),)))
    assert data is not None and (data.status, data.body) == (200, b'{"wattsNow": 5}')
    posted = app.handle(request("/api/v1/production", "POST", headers=(bearer,)))
    assert posted is not None and posted.status == 405
    assert app.faults.counts()["auth"] == {"none": 2, "bearer": 3, "cookie": 1}


def test_an_injected_fault_comes_before_everything(tokens):
    app = app_with(NoAuth(tokens))
    app.faults.add(Fault(1, "/info", status=500))
    failed = app.handle(request("/info"))
    assert failed is not None and failed.status == 500
    again = app.handle(request("/info"))
    assert again is not None and again.status == 200
    assert app.faults.counts()["paths"] == {"/info": 2}


def test_scenario_conditions_wrap_the_source_s_answers(tokens):
    conditions = Mangler()
    app = app_with(NoAuth(tokens), conditions)
    refused = app.handle(request("/ivp/meters"))
    assert refused is not None and refused.status == 503
    data = app.handle(request("/api/v1/production"))
    assert data is not None and data.body.endswith(b" mangled")
    info = app.handle(request("/info"))
    assert info is not None and not info.body.endswith(b" mangled")  # /info is never mangled
    assert conditions.after_calls == 1


def test_digest_and_open_gateways(tokens):
    digest = app_with(DigestAuth(DigestAuthority({"envoy": "000001"})))
    challenge = digest.handle(request("/api/v1/production"))
    assert challenge is not None and challenge.status == 401
    assert dict(challenge.headers)["WWW-Authenticate"].startswith("Digest realm=")
    no_jwt = digest.handle(request("/auth/check_jwt"))
    assert no_jwt is not None and no_jwt.status == 404  # firmware < 7 has no check_jwt
    open_app = app_with(NoAuth(tokens))
    checked = open_app.handle(request("/auth/check_jwt"))
    assert checked is not None and checked.status == 200 and tokens.session_count == 1
    data = open_app.handle(request("/ivp/meters/readings"))
    assert data is not None and data.status == 200


def test_a_writable_source_takes_writes_behind_the_same_auth(tokens):
    app = EnvoyApp(Switch(), TokenAuth(tokens), Faults(), SERIAL, True)
    stream = "/ivp/livedata/stream"
    denied = app.handle(request(stream, "POST", body=b'{"enable":1}'))
    assert denied is not None and denied.status == 401
    bearer = ("Authorization", f"Bearer {tokens.issue()}")
    posted = app.handle(request(stream, "POST", headers=(bearer,), body=b'{"enable":1}'))
    assert posted is not None and (posted.status, posted.body) == (200, b'POST /ivp/livedata/stream {"enable":1}')
    put = app.handle(request("/admin/lib/tariff", "PUT", headers=(bearer,), body=b"{}"))
    deleted = app.handle(request("/admin/lib/acb_config", "DELETE", headers=(bearer,), body=b"{}"))
    assert put is not None and put.body == b"PUT /admin/lib/tariff {}"
    assert deleted is not None and deleted.body == b"DELETE /admin/lib/acb_config {}"
    patched = app.handle(request(stream, "PATCH", headers=(bearer,)))
    assert patched is not None and patched.status == 405
    counts = app.faults.counts()
    assert counts["paths"] == {stream: 3, "/admin/lib/tariff": 1, "/admin/lib/acb_config": 1}
    assert counts["writes"] == counts["paths"]  # refused or not, every write is counted


def test_installer_only_paths_refuse_an_owner_token_or_session(tokens):
    app = EnvoyApp(Switch(), TokenAuth(tokens), Faults(), SERIAL, True)
    power = "/ivp/mod/603980032/mode/power"
    for user, status in (("owner", 401), ("installer", 200)):
        bearer = ("Authorization", f"Bearer {tokens.issue(user)}")
        read = app.handle(request(power, headers=(bearer,)))
        written = app.handle(request(power, "PUT", headers=(bearer,), body=b"{}"))
        assert read is not None and written is not None and (read.status, written.status) == (status, status)
        session = app.handle(request("/auth/check_jwt", headers=(bearer,)))
        assert session is not None
        cookie = ("Cookie", session.headers[0][1].split(";")[0])
        by_cookie = app.handle(request(power, "PUT", headers=(cookie,), body=b"{}"))
        assert by_cookie is not None and by_cookie.status == status  # the session keeps its token's role


@pytest.mark.parametrize(
    "mode, get_status, post_status", [("any", 200, 200), ("get", 200, 405), ("post", 405, 200), ("absent", 404, 404)]
)
def test_check_jwt_answers_the_methods_its_mode_allows(tokens, mode, get_status, post_status):
    app = app_with(TokenAuth(tokens), check_jwt=mode)
    bearer = ("Authorization", f"Bearer {tokens.issue()}")
    answers = {method: app.handle(request("/auth/check_jwt", method, headers=(bearer,))) for method in ("GET", "POST")}
    assert {method: a.status for method, a in answers.items() if a} == {"GET": get_status, "POST": post_status}
    for method, answer in answers.items():
        assert answer is not None
        assert ("Set-Cookie" in dict(answer.headers)) == (answer.status == 200)
        if answer.status == 405:
            assert dict(answer.headers)["Allow"] == mode.upper() and method != mode.upper()
    data = app.handle(request("/ivp/meters/readings", headers=(bearer,)))
    assert data is not None and data.status == 200  # a valid bearer token opens the data in every mode
    refused = app.handle(request("/ivp/meters/readings", headers=(("Authorization", "Bearer nope"),)))
    assert refused is not None and refused.status == 401
