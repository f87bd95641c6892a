"""bridge.gateway.client: /info and the scheme probe, choosing the auth strategy, the CLI's renewal, no secrets in logs."""

from __future__ import annotations

import logging
import threading

import pytest
import requests
import responses

from bridge.auth.tokens import DAY_S
from bridge.errors import CloudAuthError, EnvoyAuthError, EnvoyDataError, EnvoyError, EnvoyHTTPError, EnvoyUnavailable
from tests.support.tokens import PASSWORD, make_token
from tests.unit.gateway.helpers import (
    BASE,
    CHECK,
    DATA,
    INFO,
    LOGIN,
    TOKENS,
    cloud_ok,
    digest_gateway,
    gateway_ok,
    info_xml,
    make_client,
    urls,
)

# No scheme, no pin, no token, no Enlighten login: the only configuration that may be an old
# gateway without https, and so the only one whose /info is also tried over http.
MAYBE_OLD = {"scheme": None, "fingerprint": None, "insecure": True, "username": None, "password": None}


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
    with pytest.raises(EnvoyDataError, match=r"configured serial 999999999999.*reports 122233445566"):
        client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO]


def test_token_firmware_found_only_over_http_gets_no_token(rsps, fake, tmp_path):
    """An unpinned gateway configured without a token or login may be old; it says it is not."""
    rsps.get(INFO, body=requests.exceptions.ConnectTimeout("connect"))
    rsps.get("http://envoy.test/info", body=info_xml())
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S), **MAYBE_OLD)
    with pytest.raises(EnvoyError, match="not sending a token in clear text"):
        client.get("/ivp/meters/readings")
    assert all("check_jwt" not in url for url in urls(rsps))


def test_h11_4_pinned_gateway_without_scheme_reads_info_over_https_only(rsps, fake):
    """A pin means https with that certificate: whatever answers http is never asked."""
    rsps.get(INFO, body=requests.exceptions.ConnectionError("Connection refused"))
    rsps.get("http://envoy.test/info", body=info_xml(serial="666666666666", software="R5.0.62", web_tokens=False))
    client = make_client(fake, scheme=None, username=None, password=None)
    with pytest.raises(EnvoyUnavailable, match=r"^https: envoy.test /info: connection refused \(3 attempts\)$"):
        client.fetch_info()
    assert urls(rsps) == [INFO] * 3 and client.info is None


@pytest.mark.parametrize(
    "credentials",
    [{"token": make_token(100 * DAY_S)}, {"username": "owner@example.com", "password": PASSWORD}],
    ids=["token", "enlighten-login"],
)
def test_h11_4_a_token_or_an_enlighten_login_means_https_only(rsps, fake, credentials):
    """Token firmware has https; a token never goes out in clear text, so http is not even tried."""
    rsps.get(INFO, body=requests.exceptions.ConnectTimeout("connect"))
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    client = make_client(fake, **{**MAYBE_OLD, **credentials})
    with pytest.raises(EnvoyUnavailable, match=r"^https: "):
        client.fetch_info()
    assert all(url == INFO for url in urls(rsps))


def test_no_http_downgrade_after_a_tls_error(rsps, fake):
    rsps.get(INFO, body=requests.exceptions.SSLError("certificate verify failed"))
    rsps.get("http://envoy.test/info", body=info_xml())
    client = make_client(fake, **MAYBE_OLD)  # even where http may be tried
    with pytest.raises(EnvoyUnavailable, match="TLS error"):
        client.fetch_info()
    assert urls(rsps) == [INFO]


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


def test_digest_for_old_firmware_after_https_to_http_fallback(rsps, fake, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    digest_gateway(rsps, seen)
    client = make_client(fake, **MAYBE_OLD)
    info = client.fetch_info()
    assert info.firmware == "5.0.62" and client.token_info is None
    assert client.get("/api/v1/production") == b'{"wattsNow": 1}'
    assert seen == ["", "Digest"]
    assert "Digest " not in "".join(r.getMessage() for r in caplog.records)


# --- choosing the auth strategy ----------------------------------------------------------------------


def test_nothing_to_renew_before_info_is_read(rsps, fake):
    client = make_client(fake)
    assert client.info is None and client.token_info is None and client.last_renewal_error is None
    assert not client.maybe_renew_token(block=True)
    assert urls(rsps) == []


def test_strategy_and_session_kept_while_gateway_firmware_and_scheme_stay(rsps, fake, tmp_path):
    gateway_ok(rsps)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    client.fetch_info()
    client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO, CHECK, DATA, INFO, DATA]  # one check_jwt: the session goes on


def test_firmware_update_opens_a_new_session_with_the_same_token_manager(rsps, fake, tmp_path, caplog):
    rsps.get(INFO, body=info_xml())
    rsps.get(INFO, body=info_xml(software="D8.3.5"))
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s1"})
    rsps.get(CHECK, headers={"Set-Cookie": "sessionId=s2"})
    rsps.get(DATA, json={})
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    tokens = client._auth.tokens
    with caplog.at_level(logging.INFO):
        client.fetch_info()
    client.get("/ivp/meters/readings")
    assert urls(rsps) == [INFO, CHECK, DATA, INFO, CHECK, DATA]
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=s2"
    assert client._auth.tokens is tokens  # the token, its renewal state and its circuit carry over
    assert "firmware 8.3.5 over https, token auth" in caplog.text


def test_h11_4_no_http_once_https_answered_and_the_https_session_stays(rsps, fake, tmp_path):
    """Once https answered, an https failure is an outage: no http, and the session stays on https."""
    gateway_ok(rsps)
    rsps.get("http://envoy.test/info", body=info_xml())
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S), **MAYBE_OLD)
    client.get("/ivp/meters/readings")
    rsps.replace(responses.GET, INFO, body=requests.exceptions.ConnectTimeout("connect"))
    with pytest.raises(EnvoyUnavailable, match=r"^https: envoy\.test /info: connect timed out"):
        client.fetch_info()
    client.get("/ivp/meters/readings")
    assert [url for url in urls(rsps) if url.startswith("http:")] == []
    assert urls(rsps)[-1] == DATA and rsps.calls[-1].request.headers["Cookie"] == "sessionId=sess-1"


def test_the_token_source_and_flow_come_through_the_client(rsps, fake, tmp_path):
    gateway_ok(rsps)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    assert (client.token_source, client.token_flow) == (None, None)  # no strategy before /info
    client.get("/ivp/meters/readings")
    assert (client.token_source, client.token_flow) == ("cache", None)
    client._auth.tokens._flow = "entrez_json"  # as the token manager sets it for a cloud token
    assert client.token_flow == "entrez_json"


def test_check_token_asks_check_jwt_then_reads_once_with_the_session(rsps, fake, tmp_path):
    gateway_ok(rsps)
    read = f"{BASE}/api/v1/production"
    rsps.get(read, json={"wattsNow": 0})
    client = make_client(fake, tmp_path)
    client.check_token(make_token(100 * DAY_S))
    assert urls(rsps)[-2:] == [CHECK, read]
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=sess-1"


def test_check_token_without_check_jwt_is_decided_by_the_read_with_the_bearer(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=404)
    rsps.post(CHECK, status=404)
    rsps.get(f"{BASE}/api/v1/production", status=401)
    client = make_client(fake, tmp_path)
    with pytest.raises(EnvoyAuthError, match="refuses the token"):
        client.check_token(make_token(100 * DAY_S))
    assert rsps.calls[-1].request.headers["Authorization"].startswith("Bearer ")


def test_fetch_keeps_the_whole_answer_whatever_its_status(rsps, fake, tmp_path):
    gateway_ok(rsps, data_status=404)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    reply = client.fetch("/ivp/meters/readings")
    assert (reply.status, reply.body, reply.content_type) == (404, b'{"ok": true}', "application/json")
    assert urls(rsps) == [INFO, CHECK, DATA]  # /info first, then the session, as for a poll


def test_fetch_as_a_probe_reports_a_refusal_without_renewing_the_token(rsps, fake, tmp_path):
    gateway_ok(rsps, data_status=401)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    with pytest.raises(EnvoyHTTPError, match="refused for this token") as err:
        client.fetch("/ivp/meters/readings")
    assert err.value.status == 401 and LOGIN not in urls(rsps)


# --- writes --------------------------------------------------------------------------------------

STREAM = "https://envoy.test/ivp/livedata/stream"


def test_a_write_goes_out_as_json_in_the_session_of_the_polls(rsps, fake, tmp_path):
    gateway_ok(rsps)
    rsps.post(STREAM, json={"sc_stream": "enabled"})
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    assert client.post_json("/ivp/livedata/stream", {"enable": 1}) == b'{"sc_stream": "enabled"}'
    assert urls(rsps) == [INFO, CHECK, DATA, STREAM]  # one session for both
    request = rsps.calls[-1].request
    assert (request.method, request.body) == ("POST", b'{"enable":1}')
    assert request.headers["Content-Type"] == "application/json" and request.headers["Cookie"] == "sessionId=sess-1"


def test_a_refused_write_gets_a_new_session_and_never_a_token_renewal(rsps, fake, tmp_path):
    gateway_ok(rsps)
    rsps.post(STREAM, status=401)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    with pytest.raises(EnvoyHTTPError, match="refused for this token") as err:
        client.post_json("/ivp/livedata/stream", {"enable": 1})
    assert err.value.status == 401
    assert urls(rsps) == [INFO, CHECK, DATA, STREAM, CHECK, STREAM]  # no cloud login
    assert client.token_info is not None and client.last_renewal_error is None


def test_a_write_waits_for_the_request_in_flight(rsps, fake, tmp_path):
    gateway_ok(rsps)
    rsps.post(STREAM, json={"sc_stream": "enabled"})
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    done = threading.Event()
    with client._lock:  # a poll (or a token renewal) holds the gateway
        writer = threading.Thread(target=lambda: client.post_json("/ivp/livedata/stream", {"enable": 1}) and done.set())
        writer.start()
        assert not done.wait(0.2)
    writer.join(5)
    assert done.is_set()


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_control_write_goes_with_its_method_and_is_never_sent_twice(rsps, fake, tmp_path, method):
    gateway_ok(rsps)
    config = BASE + "/admin/lib/acb_config"
    rsps.add(method, config, status=503)
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get("/ivp/meters/readings")
    with pytest.raises(EnvoyError):
        client.write_json(method, "/admin/lib/acb_config", {"acb_sleep": [{"serial_num": "1"}]})
    request = rsps.calls[-1].request
    assert (request.method, request.body) == (method, b'{"acb_sleep":[{"serial_num":"1"}]}')
    assert request.headers["Content-Type"] == "application/json"
    assert urls(rsps).count(config) == 1  # a 503 on a write is not retried: it may have been applied
