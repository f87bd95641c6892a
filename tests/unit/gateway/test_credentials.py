"""bridge.gateway.credentials: token auth on the wire (A1-A12), sessions, refusals, digest for firmware < 7."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest
import requests
import responses
from requests.auth import HTTPDigestAuth

from bridge.auth.manager import TokenManager
from bridge.auth.store import TokenStore
from bridge.auth.tokens import DAY_S, decode_token
from bridge.config import GatewayConfig
from bridge.errors import AuthError, CloudAuthError, CloudUnavailable, EnvoyAuthError, EnvoyHTTPError, EnvoyUnavailable
from bridge.gateway.credentials import DigestAuth, NoAuth, TokenAuth
from bridge.gateway.session import SessionOpener
from bridge.model import GatewayInfo
from tests.support.tokens import HOUR, NOW, SERIAL, USER, make_token
from tests.unit.gateway.helpers import (
    BASE,
    CHECK,
    DATA,
    INFO,
    LOGIN,
    TOKENS,
    Recorded,
    cloud_ok,
    digest_gateway,
    gateway_ok,
    info_xml,
    make_client,
    urls,
)

# --- A: authentication -------------------------------------------------------------------------------


def test_a1_cached_token_one_check_jwt_then_cookie_only(rsps, fake, tmp_path):
    token = make_token(200 * DAY_S)
    gateway_ok(rsps)
    client = make_client(fake, tmp_path, cached=token)
    assert client.get("/ivp/meters/readings") == b'{"ok": true}'
    assert client.get("/ivp/meters/readings") == b'{"ok": true}'
    assert urls(rsps) == [INFO, CHECK, DATA, DATA]
    info_req, check_req, data_req = (rsps.calls[i].request for i in range(3))
    assert "Authorization" not in info_req.headers and "Cookie" not in info_req.headers
    assert check_req.headers["Authorization"] == f"Bearer {token}"
    assert data_req.headers["Cookie"] == "sessionId=sess-1" and "Authorization" not in data_req.headers
    assert data_req.headers["Accept"] == "application/json"
    assert data_req.req_kwargs["timeout"] == (10.0, 45.0) and data_req.req_kwargs["stream"] is True
    rsps.assert_call_count(LOGIN, 0)
    assert client.token_info.serial == SERIAL


def test_a2_401_mid_run_gets_a_new_session_not_a_new_token(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=sess-1"})
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=sess-2"})
    rsps.get(DATA, json={"n": 1})
    rsps.get(DATA, status=401)
    rsps.get(DATA, json={"n": 2})
    client = make_client(fake, tmp_path, cached=make_token(200 * DAY_S))
    client.get("/ivp/meters/readings")
    assert client.get("/ivp/meters/readings") == b'{"n": 2}'
    assert urls(rsps) == [INFO, CHECK, DATA, DATA, CHECK, DATA]
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=sess-2"
    rsps.assert_call_count(LOGIN, 0)


def test_a3_persistent_401_renews_once_rewrites_cache_and_retries(rsps, fake, tmp_path):
    old, new = make_token(200 * DAY_S, jti="old"), make_token(365 * DAY_S, jti="new")
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s"})
    rsps.get(DATA, json={"ok": 0})
    rsps.get(DATA, status=401)
    rsps.get(DATA, status=401)
    rsps.get(DATA, json={"ok": 1})
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=old)
    client.get("/ivp/meters/readings")
    assert client.get("/ivp/meters/readings") == b'{"ok": 1}'
    assert urls(rsps) == [INFO, CHECK, DATA, DATA, CHECK, DATA, LOGIN, TOKENS, CHECK, DATA]
    assert rsps.calls[8].request.headers["Authorization"] == f"Bearer {new}"  # validated before use
    assert (tmp_path / "token").read_text() == new
    assert stat.S_IMODE(os.stat(tmp_path / "token").st_mode) == 0o600


def test_a3_still_refused_after_renewal_is_envoy_auth_error_and_circuit(rsps, fake, tmp_path):
    gateway_ok(rsps, data_status=401)
    cloud_ok(rsps, make_token(365 * DAY_S, jti="new"))
    client = make_client(fake, tmp_path, cached=make_token(200 * DAY_S))
    with pytest.raises(EnvoyAuthError, match="even after a new session and a renewed token"):
        client.get("/ivp/meters/readings")
    rsps.assert_call_count(LOGIN, 1)
    assert client._auth.tokens.circuit_wait_s() == 15 * 60
    with pytest.raises(EnvoyAuthError, match="next cloud login attempt in 15 min"):
        client.get("/ivp/meters/readings")
    rsps.assert_call_count(LOGIN, 1)


def test_a4_expired_token_at_start_exactly_one_login_before_first_poll(rsps, fake, tmp_path):
    new = make_token(365 * DAY_S, jti="new")
    gateway_ok(rsps)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(-HOUR))
    client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO, LOGIN, TOKENS, CHECK, DATA]
    assert rsps.calls[3].request.headers["Authorization"] == f"Bearer {new}"


def test_a5_near_expiry_renewal_is_validated_before_replacing(rsps, fake, tmp_path):
    old, new = make_token(20 * DAY_S, jti="old"), make_token(365 * DAY_S, jti="new")
    gateway_ok(rsps)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=old)
    client.get("/ivp/meters/readings")
    assert client.maybe_renew_token(block=True)
    assert urls(rsps)[-3:] == [LOGIN, TOKENS, CHECK]
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {new}"
    assert client.token_info.days_left(fake.time()) == pytest.approx(365, abs=1)
    assert not client.maybe_renew_token(block=True)  # not due any more


def test_a5_refused_new_token_keeps_the_old_one(rsps, fake, tmp_path):
    old = make_token(20 * DAY_S, jti="old")
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s1"})
    rsps.get(CHECK, status=401)
    rsps.get(DATA, json={})
    cloud_ok(rsps, make_token(365 * DAY_S, jti="new"))
    client = make_client(fake, tmp_path, cached=old)
    client.get("/ivp/meters/readings")
    client.maybe_renew_token(block=True)
    assert (tmp_path / "token").read_text() == old and client.token_info.days_left(fake.time()) < 21
    assert "refused the new token" in client.last_renewal_error
    client.get("/ivp/meters/readings")
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=s1"  # the old session goes on


def test_a5_a8_cloud_down_keeps_old_token_polling_continues_warned_once(rsps, fake, tmp_path, caplog):
    old = make_token(20 * DAY_S)
    gateway_ok(rsps)
    rsps.post(LOGIN, body=requests.exceptions.ConnectTimeout("connect"))
    client = make_client(fake, tmp_path, cached=old)
    client.get("/ivp/meters/readings")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            client.maybe_renew_token(block=True)
            client.get("/ivp/meters/readings")
            fake.now += 2 * HOUR
    assert "connect timed out" in client.last_renewal_error
    # The first failed renewal only: one WARNING per token flow, then one ERROR with the circuit.
    warnings_ = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in warnings_] == [logging.WARNING] * 3 + [logging.ERROR]
    assert "next cloud login attempt in 15 min" in warnings_[-1].getMessage()
    assert (tmp_path / "token").read_text() == old


def test_a5_background_renewal_does_not_block_polling(rsps, fake, tmp_path):
    new = make_token(365 * DAY_S, jti="new")
    gateway_ok(rsps)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(10 * DAY_S))
    client.get("/ivp/meters/readings")
    assert client.maybe_renew_token()
    client._auth.renew_thread.join(5)
    assert (tmp_path / "token").read_text() == new


def test_a6_installer_token_renewals_are_bounded_over_a_day(rsps, fake, tmp_path):
    def issue(request):
        return 200, {}, make_token(12 * HOUR, life=12 * HOUR, user_type="installer", now=fake.time())

    gateway_ok(rsps)
    rsps.post(LOGIN, json={"session_id": "0123456789abcdef0123456789abcdef"})
    rsps.add_callback(responses.POST, TOKENS, callback=issue)
    client = make_client(fake, tmp_path, cached=make_token(11 * HOUR, life=12 * HOUR, user_type="installer"))
    for _ in range(24 * 60):  # a poll a minute for a simulated day
        client.get("/ivp/meters/readings")
        client.maybe_renew_token(block=True)
        fake.now += 60
    logins = sum(1 for url in urls(rsps) if url == LOGIN)
    assert 2 <= logins <= 3  # renewed in the last 2.4 h of each 12 h token, never per poll


def test_a7_wrong_password_actionable_and_circuit(rsps, fake, tmp_path):
    gateway_ok(rsps)
    rsps.post(LOGIN, status=401, json={"message": "Invalid"})
    client = make_client(fake, tmp_path, cached=make_token(-HOUR))
    with pytest.raises(CloudAuthError, match=f"Enlighten refused the login for {USER}: HTTP 401"):
        client.get("/ivp/meters/readings")
    with pytest.raises(CloudAuthError, match="next cloud login attempt in 15 min"):
        client.get("/ivp/meters/readings")
    rsps.assert_call_count(LOGIN, 1)
    fake.now += 15 * 60
    with pytest.raises(CloudAuthError):
        client.get("/ivp/meters/readings")
    assert client._auth.tokens.circuit_wait_s() == 30 * 60
    rsps.assert_call_count(LOGIN, 2)


def test_a9_cloud_unreachable_and_token_expired_no_crash_loop(rsps, fake, tmp_path):
    gateway_ok(rsps)
    rsps.post(LOGIN, body=requests.exceptions.ConnectionError("Connection refused"))
    client = make_client(fake, tmp_path, cached=make_token(-HOUR))
    with pytest.raises(CloudUnavailable, match="connection refused"):
        client.get("/ivp/meters/readings")
    rsps.assert_call_count(LOGIN, 3)  # a few quick tries, then the circuit
    with pytest.raises(CloudAuthError, match="next cloud login attempt"):
        client.get("/ivp/meters/readings")
    rsps.assert_call_count(LOGIN, 3)
    rsps.assert_call_count(DATA, 0)


def test_a10_corrupt_cache_warns_and_refetches(rsps, fake, tmp_path, caplog):
    (tmp_path / "token").write_text("this is not a token")
    new = make_token(365 * DAY_S)
    gateway_ok(rsps)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path)
    with caplog.at_level(logging.WARNING):
        client.get("/ivp/meters/readings")
    assert "does not hold a readable token" in caplog.text
    assert (tmp_path / "token").read_text() == new


def test_a10_unwritable_cache_dir_keeps_the_token_in_memory(rsps, fake, tmp_path, caplog):
    (tmp_path / "blocker").write_text("")
    gateway_ok(rsps)
    cloud_ok(rsps, make_token(365 * DAY_S))
    client = make_client(fake, token_cache=tmp_path / "blocker" / "token")
    with caplog.at_level(logging.WARNING):
        client.get("/ivp/meters/readings")
        client.get("/ivp/meters/readings")
    assert "keeping the token in memory" in caplog.text
    rsps.assert_call_count(LOGIN, 1)


def test_a11_garbage_token_in_config_clear_error(rsps, fake):
    gateway_ok(rsps)
    client = make_client(fake, token="garbage-not-a-jwt", username=None, password=None)
    with pytest.raises(AuthError, match="configured token is unusable: the token is not a valid JWT") as err:
        client.get("/ivp/meters/readings")
    assert "garbage-not-a-jwt" not in str(err.value)
    rsps.assert_call_count(CHECK, 0)


def test_a12_401_on_every_request_bounds_cloud_logins_over_a_day(rsps, fake, tmp_path):
    gateway_ok(rsps, data_status=401)
    cloud_ok(rsps, make_token(365 * DAY_S, jti="new"))
    client = make_client(fake, tmp_path, cached=make_token(200 * DAY_S))
    for _ in range(24 * 12):  # a poll every 5 minutes for a simulated day
        with pytest.raises(EnvoyAuthError):
            client.get("/ivp/meters/readings")
        client.maybe_renew_token(block=True)
        fake.now += 300
    logins = sum(1 for url in urls(rsps) if url == LOGIN)
    assert 2 <= logins <= 8  # the circuit: 15 min, 30, 60, 120, 240, 360, 360 ...


def test_pasted_token_without_credentials_warns_once_near_expiry(rsps, fake, caplog):
    gateway_ok(rsps)
    client = make_client(fake, token=make_token(10 * DAY_S), username=None, password=None)
    client.get("/ivp/meters/readings")
    with caplog.at_level(logging.WARNING):
        assert not client.maybe_renew_token(block=True)
        assert not client.maybe_renew_token(block=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cannot be renewed without Enlighten credentials" in warnings[0]
    with pytest.raises(AuthError, match="pasted"):
        client.renew_token()


def test_token_refusal_while_probing_means_not_for_this_token_and_renews_nothing(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s1"})
    rsps.get(f"{BASE}/ivp/ensemble/inventory", status=401)  # an installer's endpoint
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    with pytest.raises(EnvoyHTTPError, match="refused for this token") as err:
        client.get("/ivp/ensemble/inventory", probing=True)
    assert err.value.status == 401
    rsps.assert_call_count(LOGIN, 0)


def test_gateway_without_session_cookie_gets_the_bearer_header(rsps, fake, tmp_path):
    token = make_token(100 * DAY_S)
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, body="<h2>Valid token.</h2>")  # no Set-Cookie
    rsps.get(DATA, json={})
    make_client(fake, tmp_path, cached=token).get("/ivp/meters/readings")
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {token}"
    assert "Cookie" not in rsps.calls[-1].request.headers


def test_403_is_handled_like_401_and_invalid_token_page_is_a_refusal(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s1"})
    rsps.get(CHECK, body="<!DOCTYPE html><h2>Invalid token.</h2>")  # 200, but a refusal
    rsps.get(DATA, json={})
    rsps.get(DATA, status=403)
    cloud_ok(rsps, make_token(365 * DAY_S, jti="new"))
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    refused_page = r"could not be renewed: .*refused the token at /auth/check_jwt \(an 'Invalid token' page\)"
    with pytest.raises(EnvoyAuthError, match=refused_page):
        client.get("/ivp/meters/readings")
    assert urls(rsps)[3:] == [DATA, CHECK, LOGIN, TOKENS, CHECK]


def test_check_jwt_failing_with_a_server_error_is_an_outage_not_an_absent_endpoint(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=500)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    with pytest.raises(EnvoyUnavailable, match="check_jwt: HTTP 500"):
        client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO, CHECK]  # not retried by POST: the endpoint answered GET


# --- digest (firmware < 7) ----------------------------------------------------------------------------


def test_digest_installer_needs_an_explicit_password(rsps, fake):
    digest_gateway(rsps, [])
    client = make_client(fake, scheme=None, fingerprint=None, insecure=True, username="installer", password=None)
    with pytest.raises(EnvoyAuthError, match="'installer' needs a password"):
        client.fetch_info()


def test_digest_refused(rsps, fake):
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    rsps.get("http://envoy.test/api/v1/production", status=401)
    client = make_client(fake, scheme="http", username="envoy", password="wrong")
    with pytest.raises(EnvoyAuthError, match="refused digest login for user 'envoy'"):
        client.get("/api/v1/production")


def test_digest_refusal_while_probing_means_not_for_this_user(rsps, fake):
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    rsps.get("http://envoy.test/ivp/ensemble/inventory", status=401)
    client = make_client(fake, scheme="http", username=None, password=None)
    with pytest.raises(EnvoyHTTPError, match="not for this user") as err:
        client.get("/ivp/ensemble/inventory", probing=True)
    assert err.value.status == 401


# --- the strategies on their own (a recorded `send` instead of HTTP) --------------------------------


def gateway_info(software: str = "5.0.62") -> GatewayInfo:
    return GatewayInfo(serial=SERIAL, firmware=software, part_number=None, metered=True, web_tokens=False)


def test_no_auth_sends_bare_requests_and_has_no_token():
    send = Recorded()
    auth = NoAuth("gw", send)
    assert auth.get("/info", probing=False).status == 200
    assert send.sent == [("/info", {}, None)]
    assert auth.token_info is None and auth.last_renewal_error is None and not auth.maybe_renew(block=True)
    assert auth.token_source is None and auth.token_flow is None
    with pytest.raises(AuthError, match="gw: this gateway takes no credentials"):
        auth.renew(force=True)


@pytest.mark.parametrize(
    "username, password, user, secret",
    [
        (None, None, "envoy", SERIAL[-6:]),  # the gateway's default
        (USER, "enlighten-password", "envoy", SERIAL[-6:]),  # an Enlighten login is not a gateway user
        ("envoy", "chosen", "envoy", "chosen"),
        ("installer", "derived-elsewhere", "installer", "derived-elsewhere"),
    ],
)
def test_digest_user_and_password(username, password, user, secret):
    send = Recorded()
    gateway = GatewayConfig(host="envoy.test", username=username, password=password)
    DigestAuth(gateway, gateway_info(), send).get("/api/v1/production", probing=False)
    (_, _, digest) = send.sent[0]
    assert isinstance(digest, HTTPDigestAuth) and (digest.username, digest.password) == (user, secret)


def test_digest_has_no_token_to_renew():
    auth = DigestAuth(GatewayConfig(host="envoy.test"), gateway_info(), Recorded())
    assert auth.token_info is None and not auth.maybe_renew(block=False)
    with pytest.raises(AuthError, match=r"envoy\.test: firmware 5\.0\.62 uses digest auth, not tokens"):
        auth.renew(force=True)


def test_token_auth_opens_one_session_and_sends_only_its_cookie(tmp_path):
    token = make_token(100 * DAY_S)
    store = TokenStore(tmp_path / "token")
    store.save(token)
    tokens = TokenManager(GatewayConfig(host="envoy.test"), SERIAL, None, store, clock=lambda: NOW)
    send = Recorded(session_id="sess-9")
    auth = TokenAuth("gw", tokens, send, SessionOpener("gw", send, lambda reply, path: reply.body), threading.RLock())
    auth.get("/a", probing=False)
    auth.get("/b", probing=False)
    assert [path for path, _, _ in send.sent] == ["/auth/check_jwt", "/a", "/b"]
    assert send.sent[0][1] == {"Authorization": f"Bearer {token}"}
    assert [headers for _, headers, _ in send.sent[1:]] == [{"Cookie": "sessionId=sess-9"}] * 2
    assert auth.token_info == decode_token(token)
    assert (auth.token_source, auth.token_flow) == ("cache", None)
