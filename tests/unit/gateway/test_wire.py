"""bridge.gateway.wire: a GET prepared once and its repeats on the pool, writes via the adapter, digest on
the Session path; under `responses` (which replaces HTTPAdapter.send) every request reaches `send`."""

from __future__ import annotations

import time
from typing import ClassVar

import pytest
import requests
from requests.auth import HTTPDigestAuth

from bridge.config import GatewayConfig
from bridge.errors import EnvoyUnavailable
from bridge.gateway.tls import make_session
from bridge.gateway.transport import Transport
from bridge.gateway.wire import Wire
from tests.support.loopback import QuietHandler, serving
from tests.unit.gateway.helpers import DATA, HOST, urls

STREAM = f"https://{HOST}/ivp/livedata/stream"


def make_wire() -> Wire:
    return Wire(make_session(GatewayConfig(host=HOST, scheme="https", fingerprint="ab" * 32)), (5.0, 10.0))


def test_a_repeated_get_is_prepared_once_until_its_headers_change(rsps):
    rsps.get(DATA, json={"ok": True})
    wire = make_wire()
    for session in ("a", "a", "b"):
        answer = wire.send(DATA, {"Cookie": f"sessionId={session}"}, None, "GET", None)
        assert (answer.status, answer.read()) == (200, b'{"ok": true}')
    sent = [call.request for call in rsps.calls]
    assert sent[0] is sent[1] and sent[2] is not sent[1]
    assert [r.headers["Cookie"] for r in sent] == ["sessionId=a", "sessionId=a", "sessionId=b"]
    assert all(r.headers["Accept"] == "application/json" for r in sent)  # the session's defaults too


def test_writes_carry_their_own_body_every_time(rsps):
    rsps.put(STREAM, json={})
    wire = make_wire()
    for body in (b'{"enable":1}', b'{"enable":0}'):
        wire.send(STREAM, {"Content-Type": "application/json"}, None, "PUT", body)
    assert [call.request.body for call in rsps.calls] == [b'{"enable":1}', b'{"enable":0}']
    assert rsps.calls[1].request.headers["Content-Type"] == "application/json"


def test_no_redirect_is_followed(rsps):
    rsps.get(DATA, status=302, headers={"Location": "https://localhost/home"})
    answer = make_wire().send(DATA, {}, None, "GET", None)
    assert (answer.status, answer.headers["Location"]) == (302, "https://localhost/home")
    assert urls(rsps) == [DATA]


def test_digest_answers_its_challenge_on_the_session_path(rsps):
    challenge = {"WWW-Authenticate": 'Digest realm="enphaseenergy.com", nonce="abc123", qop="auth"'}
    rsps.get(DATA, status=401, headers=challenge)
    rsps.get(DATA, json={"ok": True})
    answer = make_wire().send(DATA, {}, HTTPDigestAuth("envoy", "123456"), "GET", None)
    assert answer.status == 200
    assert rsps.calls[1].request.headers["Authorization"].startswith('Digest username="envoy"')


def test_the_options_are_those_session_request_would_give(rsps):
    rsps.get(DATA, json={})
    seen = []
    wire = make_wire()
    adapter = wire.session.get_adapter(DATA)
    send = adapter.send
    adapter.send = lambda request, **options: seen.append(options) or send(request, **options)  # type: ignore[method-assign]
    wire.send(DATA, {}, None, "GET", None)
    assert seen == [{"timeout": (5.0, 10.0), "stream": True, "verify": False, "proxies": {}}]
    assert isinstance(wire.session, requests.Session) and wire.session.trust_env is False


class _FirstThenTrickle(QuietHandler):
    """Keep-alive; answers its first GET at once, then one byte every 20 ms of a 1000-byte body."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []

    def setup(self) -> None:
        self.seen.append("connection")
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.seen.append(self.path)
        if self.seen.count(self.path) < 3:
            self.reply(b'{"ok": 1}')
            return
        self.trickle()


def test_repeats_go_to_the_pool_on_the_kept_connection_and_a_trickle_there_is_cut_at_the_deadline():
    _FirstThenTrickle.seen = []
    with serving(_FirstThenTrickle) as port:
        transport = Transport(GatewayConfig(host="127.0.0.1", port=port, connect_timeout=0.2, read_timeout=0.3))
        adapter = transport.session.get_adapter("http://127.0.0.1/")
        sent: list[str] = []
        send = adapter.send  # an instance attribute: the adapter's class keeps requests' own `send`
        adapter.send = lambda request, **options: sent.append(request.path_url) or send(request, **options)  # type: ignore[method-assign]
        assert [transport.request("http", "/data", {}).body for _ in range(2)] == [b'{"ok": 1}'] * 2
        assert sent == ["/data"] and _FirstThenTrickle.seen == ["connection", "/data", "/data"]
        transport.retry_budget_s = 1e-9  # one attempt
        started = time.monotonic()
        with pytest.raises(EnvoyUnavailable, match=r"timed out \(no complete answer within 0.5 s\)"):
            transport.request("http", "/data", {})
        assert time.monotonic() - started < 2 and sent == ["/data"]
        transport.close()
