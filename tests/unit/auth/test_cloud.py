"""bridge.auth.cloud: the HTTPS session, retries, the Enlighten login, kept sessions, TLS (a real
loopback server for N4). Driven through the `entrez_json` flow, the one that uses all of it."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from bridge.auth.cloud import EnphaseCloud
from bridge.config import CloudConfig
from bridge.errors import CloudAuthError, CloudError, CloudMFARequired, CloudUnavailable
from bridge.simulator import CA_FILE, SERVER_CERT, SERVER_KEY
from tests.support.clock import FakeClock
from tests.support.loopback import QuietHandler, serving
from tests.support.network_failures import refused, unresolvable
from tests.support.tokens import NOW, PASSWORD, SERIAL, USER, make_token
from tests.unit.auth.helpers import (
    ENTREZ_LOGIN,
    LOGIN,
    OK_LOGIN,
    SESSION_ID,
    TOKEN,
    TOKENS,
    enlighten_ok,
    entrez_json_ok,
    make_cloud,
    no_secrets,
)

JSON_ONLY = ("entrez_json",)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def cloud(sleeps):
    return make_cloud(sleeps, flows=JSON_ONLY)


def fetch(cloud, serial=SERIAL):
    return cloud.fetch_token(USER, PASSWORD, serial, now=NOW).token


def test_two_step_login_returns_the_raw_jwt(rsps, cloud):
    entrez_json_ok(rsps)
    got = cloud.fetch_token(USER, PASSWORD, SERIAL, now=NOW)
    assert (got.token, got.flow, got.info.serial) == (TOKEN, "entrez_json", SERIAL)
    form = parse_qs(rsps.calls[0].request.body)
    assert form == {"user[email]": [USER], "user[password]": [PASSWORD]}
    assert rsps.calls[1].request.body == (
        b'{"session_id": "%s", "serial_num": "%s", "username": "%s"}'
        % (SESSION_ID.encode(), SERIAL.encode(), USER.encode())
    )
    assert rsps.calls[0].request.req_kwargs["timeout"] == (10.0, 30)
    assert rsps.calls[0].request.req_kwargs["verify"] not in (False, None, "")  # True or a CA bundle path
    assert TOKEN not in repr(got) and "eyJ" not in repr(got)


def test_no_cookie_is_kept_between_requests(rsps, cloud):
    entrez_json_ok(rsps)  # the login sets _enlighten_4_session: it must not travel on by itself
    fetch(cloud)
    assert "Cookie" not in rsps.calls[1].request.headers
    assert dict(cloud._session.cookies) == {}


def test_wrong_password_is_not_retried(rsps, cloud, sleeps):
    rsps.post(LOGIN, status=401, json={"message": "Invalid email or password"})
    with pytest.raises(CloudAuthError) as err:
        fetch(cloud)
    assert not isinstance(err.value, CloudUnavailable)
    assert f"entrez_json: Enlighten refused the login for {USER}: HTTP 401" in str(err.value)
    assert "check the Enlighten e-mail and password" in str(err.value) and PASSWORD not in str(err.value)
    rsps.assert_call_count(LOGIN, 1)
    assert sleeps == []


def test_mfa_reply_without_session_id_says_to_import_a_token(rsps, cloud):
    rsps.post(LOGIN, json={"success": True, "isBlocked": False}, headers={"Set-Cookie": "login_otp_nonce=n; Secure"})
    with pytest.raises(CloudMFARequired) as err:
        fetch(cloud)
    message = str(err.value)
    assert "multi-factor authentication (MFA) is on" in message
    assert "`envoy-mqtt-bridge token import -c config.yaml`" in message and "entrez.enphaseenergy.com" in message
    rsps.assert_call_count(TOKENS, 0)


def test_blocked_account(rsps, cloud):
    rsps.post(LOGIN, json={"success": False, "isBlocked": True})
    with pytest.raises(CloudAuthError, match="blocked"):
        fetch(cloud)


@pytest.mark.parametrize("body", ["<html>maintenance</html>", '["a list"]', '{"truncated": '])
def test_login_reply_that_is_not_a_json_object(rsps, cloud, body):
    rsps.post(LOGIN, body=body, content_type="text/html")
    with pytest.raises(CloudAuthError, match="not a JSON object"):
        fetch(cloud)


def test_redirect_is_not_followed(rsps, cloud):
    rsps.post(LOGIN, status=307, headers={"Location": "https://elsewhere.test/steal?session=abc"})
    with pytest.raises(CloudAuthError, match=r"redirect to 'https://elsewhere.test/steal', not followed") as err:
        fetch(cloud)
    assert "session=abc" not in str(err.value)
    assert len(rsps.calls) == 1


def test_5xx_is_retried_then_succeeds(rsps, cloud, sleeps):
    rsps.post(LOGIN, status=503)
    entrez_json_ok(rsps)
    assert fetch(cloud) == TOKEN
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 10


def test_5xx_three_times_is_cloud_unavailable(rsps, cloud, sleeps):
    rsps.post(LOGIN, status=503)
    with pytest.raises(CloudUnavailable, match=r"HTTP 503 \(after 3 attempts\)"):
        fetch(cloud)
    rsps.assert_call_count(LOGIN, 3)
    assert len(sleeps) == 2


def test_a_5xx_message_is_quoted_short_and_sanitised(rsps, cloud):
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=500, json={"message": f"Invalid serial number({SERIAL}) session {SESSION_ID}\n<b>x"})
    with pytest.raises(CloudUnavailable) as err:
        fetch(cloud)
    assert f"HTTP 500: Invalid serial number({SERIAL}) session … <b>x (after 3 attempts)" in str(err.value)
    no_secrets(str(err.value))


def test_unreachable_is_a_sibling_of_refused_not_a_kind_of_it(rsps, cloud):
    rsps.post(LOGIN, status=503)
    with pytest.raises(CloudError) as err:  # catch both with CloudError, "refused" alone with CloudAuthError
        fetch(cloud)
    assert isinstance(err.value, CloudUnavailable) and not isinstance(err.value, CloudAuthError)


@pytest.mark.parametrize(
    "fault, cause",
    [
        (refused(LOGIN), "connection refused"),
        (unresolvable("enlighten.test", LOGIN), "name resolution failed"),
        (requests.exceptions.ConnectTimeout("connect"), "connect timed out"),
        (requests.exceptions.ReadTimeout("read"), "timed out"),
    ],
)
def test_transport_errors_are_retried_then_unavailable(rsps, cloud, sleeps, fault, cause):
    rsps.post(LOGIN, body=fault)
    with pytest.raises(CloudUnavailable, match=f"Enlighten login: enlighten.test: {cause}"):
        fetch(cloud)
    rsps.assert_call_count(LOGIN, 3)
    assert len(sleeps) == 2


def test_ssl_error_is_never_retried(rsps, cloud, sleeps):
    rsps.post(LOGIN, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(CloudUnavailable, match="TLS error"):
        fetch(cloud)
    rsps.assert_call_count(LOGIN, 1)
    assert sleeps == []


def test_no_secret_in_any_log_record_or_error(rsps, cloud, caplog):
    caplog.set_level(logging.DEBUG)
    rsps.post(LOGIN, status=503)
    rsps.post(LOGIN, json=OK_LOGIN)
    rsps.post(TOKENS, status=502)
    rsps.post(TOKENS, body=TOKEN)
    assert fetch(cloud) == TOKEN
    rsps.post(TOKENS, status=401)  # the reused Enlighten session is refused: one fresh login...
    rsps.post(LOGIN, status=401)  # ...which is refused too
    with pytest.raises(CloudAuthError) as err:
        fetch(cloud)
    no_secrets(str(err.value), *(record.getMessage() for record in caplog.records))
    assert any("Retrying" in r.getMessage() for r in caplog.records)  # retries logged, at DEBUG only
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "Retrying" in r.getMessage())


# --- real TLS on loopback: the cloud session verifies certificates (N4) ------------------------------


@pytest.fixture
def cloud_server():
    """Enlighten and Entrez in one loopback HTTPS server, with the simulator's certificate (its CA
    is in no trust store but the one a test gives)."""

    class Handler(QuietHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.reply(
                (b'{"session_id": "%s"}' % SESSION_ID.encode()) if self.path.startswith("/login") else TOKEN.encode()
            )

    with serving(Handler, (SERVER_CERT, SERVER_KEY)) as port:
        yield f"https://localhost:{port}"


def test_untrusted_cloud_certificate_fails_closed_without_retry(cloud_server, sleeps, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cloud = EnphaseCloud(
        CloudConfig(enlighten_url=cloud_server, entrez_url=cloud_server, timeout=5, token_flows=JSON_ONLY),
        sleep=sleeps.append,
    )
    with pytest.raises(CloudUnavailable, match="TLS error: certificate verification failed"):
        fetch(cloud)
    assert sleeps == []


def test_extra_ca_file_is_trusted_on_top_of_the_default_store(cloud_server, sleeps):
    cloud = EnphaseCloud(
        CloudConfig(enlighten_url=cloud_server, entrez_url=cloud_server, timeout=5, ca_file=CA_FILE),
        sleep=sleeps.append,
    )
    assert fetch(cloud) == TOKEN


def test_an_unreadable_extra_ca_file_fails_the_first_request_in_one_line_not_the_start(cloud_server, sleeps, tmp_path):
    missing = tmp_path / "proxy-ca.pem"
    cloud = EnphaseCloud(  # the CA store is loaded at the first request (start-up CPU, issue 17)
        CloudConfig(enlighten_url=cloud_server, entrez_url=cloud_server, timeout=5, ca_file=str(missing)),
        sleep=sleeps.append,
    )
    with pytest.raises(CloudUnavailable, match=r"proxy-ca\.pem: No such file or directory"):
        fetch(cloud)
    assert sleeps == []  # a TLS error: never retried
    missing.write_bytes(Path(CA_FILE).read_bytes())
    assert fetch(cloud) == TOKEN  # the file is read again until it could be


# --- kept login sessions ------------------------------------------------------------------------------


def test_one_login_serves_every_gateway_of_the_account_for_a_while(rsps, sleeps):
    clock = FakeClock(0.0)
    cloud = make_cloud(sleeps, flows=JSON_ONLY, monotonic=clock)
    serials = ("122233445566", "122233445567", "122233445568")  # a bridge starting 3 gateways
    tokens = [make_token(365 * 86400, aud=serial) for serial in serials]
    rsps.post(LOGIN, json=OK_LOGIN)
    for token in tokens:
        rsps.post(TOKENS, body=token)
    assert [fetch(cloud, serial) for serial in serials] == tokens
    rsps.assert_call_count(LOGIN, 1)
    rsps.assert_call_count(TOKENS, 3)
    clock.advance(601)  # the session is not kept for long
    rsps.replace(responses.POST, TOKENS, body=TOKEN)
    fetch(cloud)
    rsps.assert_call_count(LOGIN, 2)


def reused_session_answered(rsps, cloud, status):
    """One token fetched (its Enlighten session kept), then Entrez answers `status` to the reuse."""
    entrez_json_ok(rsps)
    fetch(cloud)
    rsps.replace(responses.POST, TOKENS, status=status)


def test_a_refused_reused_session_gets_one_fresh_login(rsps, cloud):
    reused_session_answered(rsps, cloud, 401)
    with pytest.raises(CloudAuthError, match="Entrez /tokens: HTTP 401"):
        fetch(cloud)
    rsps.assert_call_count(LOGIN, 2)  # not a loop: one more login, then the error
    rsps.assert_call_count(TOKENS, 3)


def test_cloud_unavailable_with_a_reused_session_is_not_a_new_login(rsps, cloud):
    reused_session_answered(rsps, cloud, 503)
    with pytest.raises(CloudUnavailable):
        fetch(cloud)
    rsps.assert_call_count(LOGIN, 1)


def test_sessions_are_kept_per_account_and_service(rsps, sleeps):
    cloud = make_cloud(sleeps, flows=JSON_ONLY)
    entrez_json_ok(rsps)
    fetch(cloud)
    cloud.fetch_token("other@example.com", "other-password", SERIAL, now=NOW)
    rsps.assert_call_count(LOGIN, 2)  # another account logs in itself
    assert cloud.cached_session("entrez", USER) is None  # the Enlighten session is not an Entrez one
    rsps.assert_call_count(ENTREZ_LOGIN, 0)
