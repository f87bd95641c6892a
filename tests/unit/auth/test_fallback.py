"""bridge.auth.fallback: every way a flow fails makes it fall back to the next, with one WARNING
naming the flow, the HTTP status and the reason, and no secret in any record."""

from __future__ import annotations

import logging

import pytest
import requests

from bridge.auth.fallback import MFA_HINT, flow_order
from bridge.auth.tokens import DAY_S
from bridge.errors import CloudAuthError, CloudMFARequired, CloudUnavailable
from tests.support.tokens import HOUR, NOW, SERIAL, make_token, odd_token
from tests.unit.auth.helpers import (
    AUTH_TOKEN,
    ENTREZ_LOGIN,
    ENTREZ_TOKENS,
    LOGIN,
    TOKEN,
    TOKENS,
    enlighten_get_ok,
    enlighten_ok,
    entrez_form_ok,
    fetch,
    make_cloud,
    no_secrets,
)


def tokens_answer(**answer):
    """Enlighten logs in; Entrez /tokens gives `answer` (entrez_json fails with it)."""

    def script(rsps):
        enlighten_ok(rsps)
        rsps.post(TOKENS, **answer)

    return script


def auth_token_answer(**answer):
    """Enlighten logs in; /entrez-auth-token gives `answer` (enlighten_get fails with it)."""

    def script(rsps):
        enlighten_ok(rsps)
        rsps.get(AUTH_TOKEN, **answer)

    return script


def json_token(token):
    return tokens_answer(body=token)


# (what fails, the flows in order, how it fails, the flow that then gives the token, the WARNING's words)
CASES = {
    "403": ("entrez_json", tokens_answer(status=403), "enlighten_get", "Entrez /tokens: HTTP 403"),
    "400": (
        "entrez_json",
        tokens_answer(status=400, json={"message": "Bad Request"}),
        "enlighten_get",
        "HTTP 400: Bad Request",
    ),
    "tokens gone": ("entrez_json", tokens_answer(status=404), "entrez_form", "Entrez /tokens: HTTP 404"),
    "405": ("entrez_json", tokens_answer(status=405), "enlighten_get", "Entrez /tokens: HTTP 405"),
    "html page": (
        "entrez_json",
        tokens_answer(body="<html><h1>Please sign in</h1></html>"),
        "enlighten_get",
        "HTTP 200, but the answer is no usable token: the token is not a valid JWT",
    ),
    "not signed in": (
        "enlighten_get",
        auth_token_answer(status=401, json={"message": "You need to sign in first"}),
        "entrez_form",
        "Enlighten /entrez-auth-token: HTTP 401: You need to sign in first",
    ),
    "invalid serial": (
        "enlighten_get",
        auth_token_answer(status=500, json={"message": f"Invalid serial number({SERIAL})"}),
        "entrez_form",
        f"HTTP 500: Invalid serial number({SERIAL}) (after 3 attempts)",
    ),
    "mfa": (
        "entrez_json",
        lambda rsps: rsps.post(LOGIN, json={"success": True, "isBlocked": False}),
        "entrez_form",
        "sent no session id",
    ),
    "wrong serial": (
        "entrez_json",
        json_token(make_token(DAY_S, aud="999999999999")),
        "enlighten_get",
        "(offline check: aud)",
    ),
    "expired": ("entrez_json", json_token(make_token(-HOUR)), "enlighten_get", "(offline check: exp)"),
    "wrong iss": ("entrez_json", json_token(odd_token(iss="Mallory")), "enlighten_get", "(offline check: iss)"),
    "no enphaseUser": (
        "entrez_json",
        json_token(odd_token(enphaseUser=None)),
        "enlighten_get",
        "(offline check: enphaseUser)",
    ),
    "transport": (
        "entrez_json",
        lambda rsps: rsps.post(LOGIN, body=requests.exceptions.ConnectionError("Connection refused")),
        "entrez_form",
        "Enlighten login: enlighten.test: connection refused (after 3 attempts)",
    ),
}


def script_success(rsps, flow):
    {
        "entrez_json": lambda: None,
        "enlighten_get": lambda: enlighten_get_ok(rsps),
        "entrez_form": lambda: entrez_form_ok(rsps),
    }[flow]()


@pytest.mark.parametrize("case", CASES)
def test_each_failure_falls_back_to_the_next_flow_with_one_warning(rsps, caplog, case):
    failing, script, succeeding, words = CASES[case]
    script(rsps)
    script_success(rsps, succeeding)
    caplog.set_level(logging.DEBUG)
    got = fetch(make_cloud([]), flows=(failing, succeeding))
    assert (got.token, got.flow) == (TOKEN, succeeding)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert message.startswith(f"gateway {SERIAL}: token flow {failing} failed: ") and words in message
    no_secrets(*(r.getMessage() for r in caplog.records))


def test_404_on_tokens_and_on_the_token_page_while_entrez_tokens_works(rsps, caplog):
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=404)
    rsps.get(AUTH_TOKEN, status=404)
    entrez_form_ok(rsps)
    with caplog.at_level(logging.WARNING):
        got = fetch(make_cloud([]))
    assert got.flow == "entrez_form"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "token flow entrez_json failed: Entrez /tokens: HTTP 404" in messages[0]
    assert "token flow enlighten_get failed: Enlighten /entrez-auth-token: HTTP 404" in messages[1]
    rsps.assert_call_count(LOGIN, 1)


def test_when_every_flow_fails_the_error_lists_each_one(rsps, caplog):
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=403)
    rsps.get(AUTH_TOKEN, status=401, json={"message": "You need to sign in first"})
    rsps.post(ENTREZ_LOGIN, status=401)
    with caplog.at_level(logging.WARNING), pytest.raises(CloudAuthError) as err:
        fetch(make_cloud([]))
    message = str(err.value)
    assert message.startswith(f"no token for gateway {SERIAL} from the Enphase cloud: every token flow failed (")
    for part in (
        "entrez_json: Entrez /tokens: HTTP 403",
        "enlighten_get: Enlighten /entrez-auth-token: HTTP 401",
        "entrez_form: Entrez refused",
    ):
        assert part in message
    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 3  # the ERROR is the caller's (TokenManager)
    no_secrets(message)


def test_every_flow_unreachable_is_cloud_unavailable(rsps):
    rsps.post(LOGIN, status=503)
    rsps.post(ENTREZ_LOGIN, body=requests.exceptions.ConnectTimeout("connect"))
    with pytest.raises(CloudUnavailable) as err:
        fetch(make_cloud([]))
    assert not isinstance(err.value, CloudAuthError)


def test_mfa_in_any_flow_makes_the_error_say_how_to_import_a_token(rsps):
    rsps.post(LOGIN, json={"success": True, "isBlocked": False})
    rsps.post(ENTREZ_LOGIN, json={"requires_mfa": True})
    with pytest.raises(CloudMFARequired) as err:
        fetch(make_cloud([]))
    assert str(err.value).endswith(MFA_HINT)
    assert str(err.value).count("multi-factor") == 1
    rsps.assert_call_count(LOGIN, 1)  # one login serves both Enlighten flows
    rsps.assert_call_count(ENTREZ_TOKENS, 0)


def test_quiet_logs_the_failures_at_debug(rsps, caplog):
    rsps.post(LOGIN, status=401)
    rsps.post(ENTREZ_LOGIN, status=401)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CloudAuthError):
        make_cloud([]).fetch_token("u@example.com", "pw", SERIAL, now=NOW, quiet=True)
    assert [r.levelno for r in caplog.records if "token flow" in r.getMessage()] == [logging.DEBUG] * 3


@pytest.mark.parametrize(
    "remembered, forced, order",
    [
        (None, None, ("entrez_json", "enlighten_get", "entrez_form")),
        ("entrez_form", None, ("entrez_form", "entrez_json", "enlighten_get")),
        ("import", None, ("entrez_json", "enlighten_get", "entrez_form")),
        ("entrez_form", "enlighten_get", ("enlighten_get",)),
    ],
)
def test_flow_order(remembered, forced, order):
    assert flow_order(("entrez_json", "enlighten_get", "entrez_form"), remembered, forced) == order


def test_a_remembered_flow_no_longer_configured_is_not_tried():
    assert flow_order(("entrez_json",), "entrez_form") == ("entrez_json",)
