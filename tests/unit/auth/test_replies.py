"""bridge.auth.replies: what a cloud answer may say in a log line, and nothing more."""

from __future__ import annotations

import json

import pytest
import requests

from bridge.auth.replies import MESSAGE_MAX, asks_for_code, redirect_note, sanitise, short_message


def answer(status=200, body=b"", headers=None, cookies=None) -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp._content = status, body if isinstance(body, bytes) else json.dumps(body).encode()
    resp.headers.update(headers or {})
    for name, value in (cookies or {}).items():
        resp.cookies.set(name, value)
    return resp


@pytest.mark.parametrize(
    "body, shown",
    [
        ({"message": "Invalid serial number(122233445566)"}, ": Invalid serial number(122233445566)"),
        ({"error": "You need to sign in first"}, ": You need to sign in first"),
        ({"message": "a\nb\tc\x00d"}, ": a b c d"),
        ({"message": "session 0123456789abcdef0123456789abcdef expired"}, ": session … expired"),
        ({"message": "word " * 100}, ": " + ("word " * 100)[: MESSAGE_MAX - 1] + "…"),
        ({"message": "x" * 500}, ": …"),  # one long run: it could be a secret
        ({"message": 42}, ""),
        ({"message": "   "}, ""),
        (b"<html><body>Internal error at 10.0.0.5, cookie SESSION=abc</body></html>", ""),  # never a body
        (b'["message"]', ""),
        (b'{"message": "' + b"y" * 70000 + b'"}', ""),  # too big to read
    ],
)
def test_only_a_short_sanitised_message_field_is_quoted(body, shown):
    assert short_message(answer(500, body)) == shown


def test_sanitise_keeps_a_plain_line():
    assert sanitise("  Bad   Request ") == "Bad Request"
    assert sanitise("token eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiIxIn0.sig") == "token …"


def test_a_redirect_is_named_by_where_it_points_without_its_query():
    resp = answer(302, headers={"Location": "https://login.test/otp?nonce=secret#x"})
    assert redirect_note(resp) == " (redirect to 'https://login.test/otp', not followed)"
    assert redirect_note(answer(200)) == ""


@pytest.mark.parametrize(
    "resp",
    [
        answer(200, {"requires_mfa": True}),
        answer(200, {"success": True}, cookies={"login_otp_nonce": "n"}),
        answer(401, b"<p>Enter the one-time code we sent you</p>"),
        answer(200, b"<h1>Two-factor authentication</h1>"),
        answer(200, {"message": "OTP required"}),
    ],
)
def test_an_answer_asking_for_a_code_is_recognised(resp):
    assert asks_for_code(resp)


@pytest.mark.parametrize(
    "resp", [answer(401, {"message": "Invalid"}), answer(200, b"<p>Welcome</p>"), answer(200, b"hotpot shotput")]
)
def test_an_ordinary_answer_does_not_ask_for_a_code(resp):
    assert not asks_for_code(resp)
