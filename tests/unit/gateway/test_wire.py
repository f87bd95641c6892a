"""bridge.gateway.wire: a request straight to the adapter, a GET prepared once, digest on the Session path."""

from __future__ import annotations

import requests
from requests.auth import HTTPDigestAuth

from bridge.config import GatewayConfig
from bridge.gateway.tls import make_session
from bridge.gateway.wire import Wire
from tests.unit.gateway.helpers import DATA, HOST, urls

STREAM = f"https://{HOST}/ivp/livedata/stream"


def make_wire() -> Wire:
    return Wire(make_session(GatewayConfig(host=HOST, scheme="https", fingerprint="ab" * 32)), (5.0, 10.0))


def test_a_repeated_get_is_prepared_once_until_its_headers_change(rsps):
    rsps.get(DATA, json={"ok": True})
    wire = make_wire()
    for session in ("a", "a", "b"):
        answer = wire.send(DATA, {"Cookie": f"sessionId={session}"}, None, "GET", None)
        assert (answer.status_code, answer.raw.read()) == (200, b'{"ok": true}')
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
    assert (answer.status_code, answer.headers["Location"]) == (302, "https://localhost/home")
    assert urls(rsps) == [DATA]


def test_digest_answers_its_challenge_on_the_session_path(rsps):
    challenge = {"WWW-Authenticate": 'Digest realm="enphaseenergy.com", nonce="abc123", qop="auth"'}
    rsps.get(DATA, status=401, headers=challenge)
    rsps.get(DATA, json={"ok": True})
    answer = make_wire().send(DATA, {}, HTTPDigestAuth("envoy", "123456"), "GET", None)
    assert answer.status_code == 200
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
