"""bridge.auth.flows: each token flow alone, what it sends, and what it makes of each answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bridge.auth.flows import FLOWS, Attempt, enlighten_get, entrez_form, entrez_json
from bridge.config.schema import TOKEN_FLOWS
from bridge.errors import CloudAuthError, CloudMFARequired
from tests.support.tokens import PASSWORD, SERIAL, USER
from tests.unit.auth.helpers import (
    AUTH_TOKEN,
    ENTREZ_LOGIN,
    ENTREZ_SESSION,
    ENTREZ_TOKENS,
    LOGIN,
    SESSION_ID,
    TOKEN,
    TOKENS,
    enlighten_get_ok,
    enlighten_ok,
    entrez_form_ok,
    entrez_json_ok,
    entrez_login_ok,
    make_cloud,
    no_secrets,
    token_page,
)


@pytest.fixture
def attempt():
    return Attempt(make_cloud([]), USER, PASSWORD, SERIAL)


def test_the_flows_are_the_configurable_ones_in_the_default_order():
    assert tuple(FLOWS) == TOKEN_FLOWS == ("entrez_json", "enlighten_get", "entrez_form")


def test_entrez_json_posts_the_session_to_tokens_and_returns_the_raw_jwt(rsps, attempt):
    entrez_json_ok(rsps)
    assert entrez_json(attempt) == TOKEN
    assert [call.request.url for call in rsps.calls] == [LOGIN, TOKENS]
    assert rsps.calls[1].request.headers["Content-Type"] == "application/json"


def test_enlighten_get_sends_the_login_cookie_and_reads_the_json_token(rsps, attempt):
    enlighten_get_ok(rsps)
    assert enlighten_get(attempt) == TOKEN
    request = rsps.calls[1].request
    assert request.method == "GET" and parse_qs(urlsplit(request.url).query) == {"serial_num": [SERIAL]}
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Cookie"] == f"_enlighten_4_session={SESSION_ID}"


def test_entrez_form_logs_in_with_the_form_and_scrapes_the_textarea(rsps, attempt):
    entrez_form_ok(rsps)
    assert entrez_form(attempt) == TOKEN
    login, page = rsps.calls[0].request, rsps.calls[1].request
    assert parse_qs(login.body) == {"username": [USER], "password": [PASSWORD]}
    assert login.headers["Accept"] == "application/json"
    assert parse_qs(page.body) == {"serialNum": [SERIAL]}
    assert page.headers["Cookie"] == f"SESSION={ENTREZ_SESSION}"


def test_one_enlighten_login_serves_both_flows_that_use_it(rsps, attempt):
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=404)
    rsps.get(AUTH_TOKEN, json={"token": TOKEN, "expires_at": 1, "generation_time": 0})
    with pytest.raises(CloudAuthError, match="Entrez /tokens: HTTP 404"):
        entrez_json(attempt)
    assert enlighten_get(attempt) == TOKEN
    rsps.assert_call_count(LOGIN, 1)


def test_a_refused_login_fails_the_second_flow_without_a_second_try(rsps, attempt):
    rsps.post(LOGIN, status=401, json={"message": "Invalid"})
    for flow in (entrez_json, enlighten_get):
        with pytest.raises(CloudAuthError, match=f"Enlighten refused the login for {USER}: HTTP 401"):
            flow(attempt)
    rsps.assert_call_count(LOGIN, 1)


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"status": 401, "json": {"message": "You need to sign in first"}}, "HTTP 401: You need to sign in first"),
        ({"json": {"message": "You need to sign in first"}}, "HTTP 200 without token, expires_at, generation_time"),
        ({"json": {"token": TOKEN, "expires_at": 1}}, "HTTP 200 without generation_time"),
        ({"json": {"token": 7, "expires_at": 1, "generation_time": 0}}, "`token` is not text"),
        ({"body": "<html>sign in</html>"}, "not a JSON object"),
    ],
)
def test_enlighten_get_refuses_an_incomplete_answer(rsps, attempt, answer, reason):
    enlighten_ok(rsps)
    rsps.get(AUTH_TOKEN, **answer)
    with pytest.raises(CloudAuthError) as err:
        enlighten_get(attempt)
    assert str(err.value).startswith("Enlighten /entrez-auth-token:") and reason in str(err.value)
    no_secrets(str(err.value))


@pytest.mark.parametrize(
    "page, expected",
    [
        ("<textarea>A &amp; B</textarea>", "A & B"),  # any textarea, entities decoded
        ('<textarea id="other">x</textarea><textarea name="accessToken" id="JWTToken">\n  y \n</textarea>', "y"),
    ],
)
def test_entrez_form_takes_the_token_textarea(rsps, attempt, page, expected):
    entrez_login_ok(rsps)
    rsps.post(ENTREZ_TOKENS, body=page)
    assert entrez_form(attempt) == expected


@pytest.mark.parametrize(
    "page, error, reason",
    [
        (token_page("Error: no gateway " + "9" * 30), CloudAuthError, "the page says 'Error: no gateway …'"),
        ("<html><p>Your session expired</p></html>", CloudAuthError, "the page holds no token"),
        ("<html><form>Enter the verification code</form></html>", CloudMFARequired, "one-time code"),
    ],
)
def test_entrez_form_refuses_a_page_without_a_token(rsps, attempt, page, error, reason):
    entrez_login_ok(rsps)
    rsps.post(ENTREZ_TOKENS, body=page)
    with pytest.raises(error) as err:
        entrez_form(attempt)
    assert reason in str(err.value)


@pytest.mark.parametrize(
    "answer, error, reason",
    [
        ({"status": 401, "json": {"message": "Bad credentials"}}, CloudAuthError, "HTTP 401: Bad credentials"),
        ({"json": {"message": "success"}}, CloudAuthError, "HTTP 200, no session"),
        ({"json": {"requires_mfa": True}}, CloudMFARequired, "one-time code"),
        ({"status": 401, "body": "<p>Enter your OTP</p>"}, CloudMFARequired, "one-time code"),
        ({"status": 302, "headers": {"Location": "https://entrez.test/login?error=1"}}, CloudAuthError, "not followed"),
    ],
)
def test_entrez_login_refusals(rsps, attempt, answer, error, reason):
    rsps.post(ENTREZ_LOGIN, **answer)
    with pytest.raises(error) as err:
        entrez_form(attempt)
    assert reason in str(err.value) and PASSWORD not in str(err.value)
    rsps.assert_call_count(ENTREZ_TOKENS, 0)


def test_a_kept_entrez_session_refused_gets_one_fresh_login(rsps, attempt):
    entrez_form_ok(rsps)
    entrez_form(attempt)
    again = Attempt(attempt.cloud, USER, PASSWORD, SERIAL)  # the next fetch reuses the session...
    rsps.post(ENTREZ_TOKENS, status=401)  # ...which has expired at Entrez
    rsps.post(ENTREZ_TOKENS, body=token_page(TOKEN))
    assert entrez_form(again) == TOKEN
    rsps.assert_call_count(ENTREZ_LOGIN, 2)
