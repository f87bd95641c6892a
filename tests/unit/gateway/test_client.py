"""bridge.envoy: auth flows (A1-A12), transport policy (E, B5), digest, TLS pinning on a loopback server (N)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import os
import shutil
import ssl
import stat
import subprocess
import threading
import time
import warnings

import jwt
import pytest
import requests
import responses
import urllib3

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.auth.tokens import DAY_S
from bridge.config import CloudConfig, GatewayConfig
from bridge.errors import (
    AuthError,
    CloudAuthError,
    CloudUnavailable,
    EnvoyAuthError,
    EnvoyDataError,
    EnvoyError,
    EnvoyHTTPError,
    EnvoyNotFound,
    EnvoyUnavailable,
    TLSPinError,
)
from bridge.gateway.client import EnvoyClient
from bridge.gateway.tls import fetch_fingerprint
from bridge.gateway.transport import MAX_BODY_BYTES

SERIAL = "122233445566"
HOST = "envoy.test"
BASE = f"https://{HOST}"
INFO, CHECK, DATA = f"{BASE}/info", f"{BASE}/auth/check_jwt", f"{BASE}/ivp/meters/readings"
LOGIN, TOKENS = "https://enlighten.test/login/login.json", "https://entrez.test/tokens"
USER, PASSWORD = "owner@example.com", "hunter2-very-secret"
NOW = 1_750_000_000.0
HOUR = 3600.0
KEY = "test-signing-key-that-is-long-enough-for-hs256"


def make_token(
    exp_in: float, *, life: float = 365 * DAY_S, user_type: str = "owner", now: float = NOW, jti: str = "a"
) -> str:
    claims = {
        "aud": SERIAL,
        "iss": "Entrez",
        "enphaseUser": user_type,
        "exp": int(now + exp_in),
        "iat": int(now + exp_in - life),
        "username": USER,
        "jti": jti,
    }
    return jwt.encode(claims, KEY, algorithm="HS256")


def info_xml(serial: str = SERIAL, software: str = "D8.2.127", web_tokens: bool = True) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><envoy_info><device><sn>{serial}</sn><pn>800-00654-r08</pn>"
        f"<software>{software}</software><imeter>true</imeter></device>"
        f"<web-tokens>{'true' if web_tokens else 'false'}</web-tokens></envoy_info>"
    ).encode()


class FakeTime:
    """Wall clock, monotonic clock and sleep in one: sleeping advances both clocks."""

    def __init__(self, now: float = NOW):
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - NOW

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake():
    return FakeTime()


def make_client(fake, tmp_path=None, cached=None, **gw):
    settings = {"host": HOST, "scheme": "https", "username": USER, "password": PASSWORD, "fingerprint": "ab" * 32}
    settings.update(gw)
    store = None
    if tmp_path is not None:
        store = TokenStore(tmp_path / "token")
        if cached:
            store.save(cached)
    cloud = EnphaseCloud(
        CloudConfig(enlighten_url="https://enlighten.test", entrez_url="https://entrez.test"),
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )
    return EnvoyClient(
        GatewayConfig(**settings), cloud, store, sleep=fake.sleep, monotonic=fake.monotonic, clock=fake.time
    )


def gateway_ok(rsps, session="sess-1", data_status=200):
    rsps.get(INFO, body=info_xml())
    rsps.get(
        CHECK,
        body="<!DOCTYPE html><h2>Valid token.</h2>",
        headers={"Set-Cookie": f"sessionId={session}; Path=/; Secure; HttpOnly"},
    )
    rsps.get(DATA, status=data_status, json={"ok": True})


def cloud_ok(rsps, token):
    rsps.post(LOGIN, json={"message": "success", "session_id": "0123456789abcdef0123456789abcdef"})
    rsps.post(TOKENS, body=token)


def urls(rsps):
    return [call.request.url for call in rsps.calls]


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
    assert client._tokens.circuit_wait_s() == 15 * 60
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
    warnings_ = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings_) == 1 and "next cloud login attempt in 15 min" in warnings_[0].getMessage()
    assert (tmp_path / "token").read_text() == old


def test_a5_background_renewal_does_not_block_polling(rsps, fake, tmp_path):
    new = make_token(365 * DAY_S, jti="new")
    gateway_ok(rsps)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(10 * DAY_S))
    client.get("/ivp/meters/readings")
    assert client.maybe_renew_token()
    client._renew_thread.join(5)
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
    assert client._tokens.circuit_wait_s() == 30 * 60
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


def test_renew_token_for_the_cli(rsps, fake, tmp_path):
    gateway_ok(rsps)
    new = make_token(365 * DAY_S, jti="new")
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(300 * DAY_S))
    info = client.renew_token()
    assert info.days_left(fake.time()) == pytest.approx(365, abs=1)
    assert urls(rsps) == [INFO, LOGIN, TOKENS, CHECK]


def test_configured_serial_mismatch_sends_no_credentials(rsps, fake, tmp_path):
    gateway_ok(rsps)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S), serial="999999999999")
    with pytest.raises(EnvoyDataError, match="configured serial 999999999999.*reports 122233445566"):
        client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO]


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


def test_check_jwt_404_is_not_mistaken_for_an_absent_endpoint(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=404)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    with pytest.raises(EnvoyHTTPError, match="check_jwt: HTTP 404") as err:
        client.get("/ivp/meters/readings")
    assert not isinstance(err.value, EnvoyNotFound)


# --- digest (firmware < 7) and the /info scheme probe ------------------------------------------------


def digest_gateway(rsps, seen):
    challenge = {"WWW-Authenticate": 'Digest realm="enphaseenergy.com", nonce="abc123", qop="auth"'}

    def data(request):
        header = request.headers.get("Authorization", "")
        seen.append(header.split(" ", 1)[0])
        if header.startswith("Digest ") and 'username="envoy"' in header:
            return 200, {}, b'{"wattsNow": 1}'
        return 401, challenge, b""

    rsps.get("https://envoy.test/info", body=requests.exceptions.ConnectionError("Connection refused"))
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    rsps.add_callback(responses.GET, "http://envoy.test/api/v1/production", callback=data)


def test_digest_for_old_firmware_after_https_to_http_fallback(rsps, fake, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    digest_gateway(rsps, seen)
    client = make_client(fake, scheme=None, username=None, password=None)
    info = client.fetch_info()
    assert info.firmware == "5.0.62" and client.token_info is None
    assert client.get("/api/v1/production") == b'{"wattsNow": 1}'
    assert seen == ["", "Digest"]
    assert "Digest " not in "".join(r.getMessage() for r in caplog.records)


def test_digest_installer_needs_an_explicit_password(rsps, fake):
    digest_gateway(rsps, [])
    client = make_client(fake, scheme=None, username="installer", password=None)
    with pytest.raises(EnvoyAuthError, match="'installer' needs a password"):
        client.fetch_info()


def test_digest_refused(rsps, fake):
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    rsps.get("http://envoy.test/api/v1/production", status=401)
    client = make_client(fake, scheme="http", username="envoy", password="wrong")
    with pytest.raises(EnvoyAuthError, match="refused digest login for user 'envoy'"):
        client.get("/api/v1/production")


def test_token_firmware_found_only_over_http_gets_no_token(rsps, fake, tmp_path):
    rsps.get(INFO, body=requests.exceptions.ConnectTimeout("connect"))
    rsps.get("http://envoy.test/info", body=info_xml())
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S), scheme=None)
    with pytest.raises(EnvoyError, match="not sending a token in clear text"):
        client.get("/ivp/meters/readings")
    assert all("check_jwt" not in url for url in urls(rsps))


def test_no_http_downgrade_after_a_tls_error(rsps, fake):
    rsps.get(INFO, body=requests.exceptions.SSLError("certificate verify failed"))
    rsps.get("http://envoy.test/info", body=info_xml())
    client = make_client(fake, scheme=None)
    with pytest.raises(EnvoyUnavailable, match="TLS error"):
        client.fetch_info()
    assert urls(rsps) == [INFO]


@pytest.mark.parametrize(
    "host, port, url",
    [
        ("2001:db8::5", None, "https://[2001:db8::5]/info"),
        ("[2001:db8::5]", 8443, "https://[2001:db8::5]:8443/info"),
        ("192.168.1.20", None, "https://192.168.1.20/info"),
        ("192.168.1.20:8443", None, "https://192.168.1.20:8443/info"),
        ("[2001:db8::5]:8443", None, "https://[2001:db8::5]:8443/info"),
        ("envoy.local", 80, "https://envoy.local:80/info"),
    ],
)
def test_base_url_for_names_ipv4_and_ipv6(rsps, fake, host, port, url):
    rsps.get(url, body=info_xml(software="R5.0.62", web_tokens=False))
    make_client(fake, host=host, port=port).fetch_info()
    assert urls(rsps) == [url]


# --- transport policy --------------------------------------------------------------------------------


@pytest.fixture
def digest_client(rsps, fake):
    """A client past /info on old firmware: data requests carry no token, so the transport shows plainly."""
    rsps.get(INFO, body=info_xml(software="R5.0.62", web_tokens=False))
    client = make_client(fake)
    client.fetch_info()
    return client


def test_404_is_not_found_and_not_retried(rsps, fake, digest_client):
    rsps.get(DATA, status=404)
    with pytest.raises(EnvoyNotFound):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)
    assert fake.sleeps == []


@pytest.mark.parametrize("status, error", [(400, EnvoyHTTPError), (405, EnvoyHTTPError), (500, EnvoyUnavailable)])
def test_other_statuses_are_not_retried(rsps, fake, digest_client, status, error):
    rsps.get(DATA, status=status)
    with pytest.raises(error, match=f"HTTP {status}") as err:
        digest_client.get("/ivp/meters/readings")
    if error is EnvoyHTTPError:
        assert err.value.status == status
    rsps.assert_call_count(DATA, 1)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_unavailable(rsps, fake, digest_client, status):
    rsps.get(DATA, status=status)
    with pytest.raises(EnvoyUnavailable, match=rf"HTTP {status} \(3 attempts\)"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 3)
    assert len(fake.sleeps) == 2 and all(0 <= s <= 10 for s in fake.sleeps)


def test_503_then_200_recovers_within_the_cycle(rsps, fake, digest_client):
    rsps.get(DATA, status=503)
    rsps.get(DATA, json={"ok": True})
    assert digest_client.get("/ivp/meters/readings") == b'{"ok": true}'
    rsps.assert_call_count(DATA, 2)


def test_retry_budget_stops_retries(rsps, fake, digest_client):
    digest_client.retry_budget_s = 1e-9
    rsps.get(DATA, status=503)
    with pytest.raises(EnvoyUnavailable, match=r"\(1 attempt\)"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)


def refused():
    err = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    err.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, DATA, err))


def unresolvable():
    err = urllib3.exceptions.NameResolutionError(HOST, None, OSError("Name or service not known"))
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, DATA, err))


@pytest.mark.parametrize(
    "fault, cause",
    [
        (refused(), "connection refused"),
        (unresolvable(), "name resolution failed"),
        (requests.exceptions.ReadTimeout("read"), "timed out"),
        (requests.exceptions.ConnectTimeout("connect"), "connect timed out"),
        (requests.exceptions.ChunkedEncodingError("broken"), "connection broken"),
    ],
)
def test_transport_errors_retried_then_named(rsps, fake, digest_client, fault, cause):
    rsps.get(DATA, body=fault)
    with pytest.raises(EnvoyUnavailable, match=f"{HOST} /ivp/meters/readings: {cause}"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 3)


def test_ssl_error_is_not_retried(rsps, fake, digest_client):
    rsps.get(DATA, body=requests.exceptions.SSLError("bad record mac"))
    with pytest.raises(EnvoyUnavailable):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)
    assert fake.sleeps == []


def test_redirect_is_not_followed(rsps, fake, digest_client):
    rsps.get(DATA, status=302, headers={"Location": "https://localhost/home"})
    rsps.get("https://localhost/home", body="login page")
    with pytest.raises(EnvoyDataError, match="HTTP 302 redirect to 'https://localhost/home'"):
        digest_client.get("/ivp/meters/readings")
    assert urls(rsps)[-1] == DATA


def test_body_cap(rsps, fake, digest_client):
    rsps.get(DATA, body=b"x" * (MAX_BODY_BYTES + 1))
    with pytest.raises(EnvoyDataError, match="body too large"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)


def test_gzip_bomb_is_capped_on_the_decoded_stream(rsps, fake, digest_client):
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000
    rsps.get(DATA, body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(EnvoyDataError, match="body too large"):
        digest_client.get("/ivp/meters/readings")


def test_whole_request_deadline(rsps, fake, digest_client):
    ticks = iter(range(0, 10_000, 20))  # every look at the clock: 20 s later (a trickling gateway)
    digest_client.transport.monotonic = lambda: next(ticks)
    rsps.get(DATA, body=b"x" * (300 * 1024))  # several reads
    with pytest.raises(EnvoyUnavailable, match=r"timed out \(no complete answer within 55 s\)"):
        digest_client.get("/ivp/meters/readings")


def test_no_secret_in_any_log_record(rsps, fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    old, new = make_token(20 * DAY_S, jti="old"), make_token(365 * DAY_S, jti="new")
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=cookie-secret-1"})
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=cookie-secret-2"})
    rsps.get(DATA, json={"ok": 0})
    rsps.get(DATA, status=503)
    rsps.get(DATA, status=401)
    rsps.get(DATA, status=401)
    rsps.get(DATA, json={"ok": 1})
    rsps.post(LOGIN, status=502)
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=old)
    client.get("/ivp/meters/readings")
    assert client.get("/ivp/meters/readings") == b'{"ok": 1}'  # 503, 401, new session, 401, renewal
    rsps.replace(responses.POST, LOGIN, status=401)
    rsps.replace(responses.POST, TOKENS, status=401)  # the reused Enlighten session is refused too
    with pytest.raises(CloudAuthError):
        client.renew_token()  # a renewal that fails loudly
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Retrying" in text  # retries were logged, at DEBUG
    for secret in (PASSWORD, old, new, "cookie-secret", "eyJ", "Bearer", "0123456789abcdef"):
        assert secret not in text


# --- TLS against a real loopback server (N1, N2, insecure) -------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=envoy",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(crt.read_text())
    return crt, key, hashlib.sha256(der).hexdigest()


@pytest.fixture
def tls_envoy(cert):
    stats = {"connections": 0, "requests": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def setup(self):
            stats["connections"] += 1
            super().setup()

        def do_GET(self):
            stats["requests"].append((self.path, self.headers.get("Authorization")))
            body = info_xml(software="R5.0.62", web_tokens=False) if self.path == "/info" else b'{"ok": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert[0], cert[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server.server_address[1], stats
    server.shutdown()
    server.server_close()


def real_client(port, **gw):
    settings = {"host": "127.0.0.1", "port": port, "scheme": "https", "connect_timeout": 5, "read_timeout": 5}
    return EnvoyClient(GatewayConfig(**{**settings, **gw}), None, None, sleep=lambda s: None)


def test_n1_pinned_certificate_works_keeps_alive_and_does_not_warn(tls_envoy, cert):
    port, stats = tls_envoy
    client = real_client(port, fingerprint=cert[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.fetch_info()
        assert client.get("/api/v1/production") == b'{"ok": 1}'
        assert client.get("/api/v1/production") == b'{"ok": 1}'
    client.close()
    assert [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)] == []
    assert stats["connections"] == 1 and len(stats["requests"]) == 3


def test_n2_fingerprint_mismatch_is_a_pin_error_before_anything_is_sent(tls_envoy, cert):
    port, stats = tls_envoy
    wrong = "ab" * 32
    client = real_client(port, fingerprint=wrong, token=make_token(100 * DAY_S))
    slept = []
    client.transport.sleep = slept.append
    with pytest.raises(TLSPinError) as err:
        client.get("/ivp/meters/readings")
    assert wrong in str(err.value) and cert[2] in str(err.value)
    assert stats["requests"] == [] and slept == []


def test_insecure_session_warns_once_and_silences_only_its_own_warnings(tls_envoy, caplog):
    port, stats = tls_envoy
    with caplog.at_level(logging.WARNING):
        client = real_client(port, insecure=True)
    assert len(caplog.records) == 1 and "TLS certificate checks are OFF" in caplog.text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.fetch_info()
        client.get("/api/v1/production")
        requests.get(f"https://127.0.0.1:{port}/info", verify=False, timeout=5)  # someone else's session
    insecure = [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
    assert len(insecure) == 1  # only the other session warned


def test_unpinned_self_signed_certificate_fails_closed_with_a_hint(tls_envoy):
    port, _ = tls_envoy
    client = real_client(port)
    with pytest.raises(EnvoyUnavailable, match="certificate verification failed.*`fingerprint`.*`insecure: true`"):
        client.fetch_info()


def test_e3_trickling_gateway_is_cut_at_the_whole_request_deadline(cert):
    """A real server sending one byte every 20 ms: each read is quick, the whole answer is not."""

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        client = EnvoyClient(
            GatewayConfig(
                host="127.0.0.1", port=server.server_address[1], scheme="http", connect_timeout=0.2, read_timeout=0.3
            ),
            None,
            None,
            sleep=lambda s: None,
        )
        client.retry_budget_s = 1e-9  # one attempt
        started = time.monotonic()
        with pytest.raises(EnvoyUnavailable, match=r"timed out \(no complete answer within 0.5 s\)"):
            client.fetch_info()
        assert time.monotonic() - started < 2
        client.close()
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_fingerprint_matches_the_certificate(tls_envoy, cert):
    port, _ = tls_envoy
    assert fetch_fingerprint("127.0.0.1", port, timeout=5) == cert[2]


def test_fetch_fingerprint_unreachable():
    with socket_closed_port() as port, pytest.raises(EnvoyUnavailable, match="connection refused"):
        fetch_fingerprint("127.0.0.1", port, timeout=2)


class socket_closed_port:
    """A loopback port nobody listens on (bound, then closed)."""

    def __enter__(self):
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc):
        return False


# --- the whole-request deadline's watchdog -------------------------------------------------------


def test_watchdog_fires_once_and_holds_one_deadline_per_owner():
    from bridge.gateway.deadline import Watchdog

    fired = threading.Event()
    calls = []
    watchdog = Watchdog()
    watchdog.arm("gw", 0.05, lambda: (calls.append("late"), fired.set()))
    assert fired.wait(5) and calls == ["late"]
    for _ in range(10_000):  # requests that finish in time: armed, then disarmed
        watchdog.arm("gw", 60, lambda: calls.append("never"))
        watchdog.disarm("gw")
    watchdog.arm("a", 60, lambda: None)
    watchdog.arm("a", 60, lambda: None)  # a new deadline replaces the owner's old one
    assert watchdog.armed == 1
    watchdog.disarm("a")
    assert watchdog.armed == 0 and calls == ["late"]
