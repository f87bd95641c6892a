"""bridge.gateway.session: check_jwt by GET or POST, remembered per firmware; bearer where it is absent."""

from __future__ import annotations

import logging

import pytest

from bridge.auth.tokens import DAY_S
from bridge.errors import EnvoyAuthError
from bridge.gateway.session import SessionOpener
from bridge.gateway.transport import Reply
from tests.support.tokens import make_token
from tests.unit.gateway.helpers import CHECK, DATA, INFO, LOGIN, TOKENS, cloud_ok, info_xml, make_client

VALID = "<!DOCTYPE html><h2>Valid token.</h2>"
READINGS = "/ivp/meters/readings"


def cookie_of(session: str) -> dict[str, str]:
    return {"Set-Cookie": f"sessionId={session}; Path=/; Secure; HttpOnly"}


def calls(rsps) -> list[str]:
    """Each request as `METHOD url`, in order."""
    return [f"{call.request.method} {call.request.url}" for call in rsps.calls]


def test_get_works_and_is_kept(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, body=VALID, headers=cookie_of("s1"))
    rsps.get(DATA, json={})
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get(READINGS)
    assert calls(rsps) == [f"GET {INFO}", f"GET {CHECK}", f"GET {DATA}"]
    assert rsps.calls[2].request.headers["Cookie"] == "sessionId=s1"
    assert client._auth.sessions.method == "GET"


@pytest.mark.parametrize("refusal", [405, 501])
def test_get_refused_as_a_method_then_post_works_and_the_next_session_opens_with_post(rsps, fake, tmp_path, refusal):
    token = make_token(100 * DAY_S)
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=refusal)
    rsps.post(CHECK, body=VALID, headers=cookie_of("s1"))
    rsps.post(CHECK, body=VALID, headers=cookie_of("s2"))
    rsps.get(DATA, json={"n": 1})
    rsps.get(DATA, status=401)  # the gateway rebooted: its sessions are gone
    rsps.get(DATA, json={"n": 2})
    client = make_client(fake, tmp_path, cached=token)
    client.get(READINGS)
    assert client.get(READINGS) == b'{"n": 2}'
    assert calls(rsps) == [
        f"GET {INFO}",
        f"GET {CHECK}",
        f"POST {CHECK}",
        f"GET {DATA}",
        f"GET {DATA}",
        f"POST {CHECK}",  # straight to the method that works: no second GET
        f"GET {DATA}",
    ]
    assert rsps.calls[2].request.headers["Authorization"] == f"Bearer {token}"
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=s2"
    rsps.assert_call_count(LOGIN, 0)


def test_post_only_gateway_validates_a_renewed_token_by_post_after_a_new_session(rsps, fake, tmp_path):
    """401 with check_jwt present: a new session first (one check_jwt), a renewed token second."""
    new = make_token(365 * DAY_S, jti="new")
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=405)
    rsps.post(CHECK, body=VALID, headers=cookie_of("s1"))
    rsps.get(DATA, json={"ok": 0})
    rsps.get(DATA, status=401)
    rsps.get(DATA, status=401)
    rsps.get(DATA, json={"ok": 1})
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(200 * DAY_S, jti="old"))
    client.get(READINGS)
    assert client.get(READINGS) == b'{"ok": 1}'
    assert calls(rsps)[3:] == [
        f"GET {DATA}",
        f"GET {DATA}",
        f"POST {CHECK}",  # the new session: refused too
        f"GET {DATA}",
        f"POST {LOGIN}",
        f"POST {TOKENS}",
        f"POST {CHECK}",  # the renewed token, validated before use
        f"GET {DATA}",
    ]
    assert rsps.calls[9].request.headers["Authorization"] == f"Bearer {new}"


def test_absent_check_jwt_means_the_bearer_token_on_every_request_said_once(rsps, fake, tmp_path, caplog):
    token = make_token(100 * DAY_S)
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=404)
    rsps.post(CHECK, status=404)
    rsps.get(DATA, json={})
    client = make_client(fake, tmp_path, cached=token)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            client.get(READINGS)
    assert calls(rsps) == [f"GET {INFO}", f"GET {CHECK}", f"POST {CHECK}"] + [f"GET {DATA}"] * 3
    for call in rsps.calls[3:]:
        assert call.request.headers["Authorization"] == f"Bearer {token}" and "Cookie" not in call.request.headers
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "no /auth/check_jwt" in r.getMessage()]
    why = "(GET: HTTP 404, POST: HTTP 404): sending the token with every request instead of a session cookie"
    assert said == [(logging.INFO, f"envoy.test: the gateway has no /auth/check_jwt {why}")]
    assert token not in caplog.text


def test_absent_check_jwt_401_retries_with_the_token_then_renews_without_any_check_jwt(rsps, fake, tmp_path):
    new = make_token(365 * DAY_S, jti="new")
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=404)
    rsps.post(CHECK, status=404)
    rsps.get(DATA, json={"n": 0})
    rsps.get(DATA, status=401)
    rsps.get(DATA, status=401)
    rsps.get(DATA, json={"n": 1})
    cloud_ok(rsps, new)
    client = make_client(fake, tmp_path, cached=make_token(200 * DAY_S, jti="old"))
    client.get(READINGS)
    assert client.get(READINGS) == b'{"n": 1}'
    assert calls(rsps)[3:] == [
        f"GET {DATA}",
        f"GET {DATA}",
        f"GET {DATA}",
        f"POST {LOGIN}",
        f"POST {TOKENS}",
        f"GET {DATA}",
    ]
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {new}"
    assert (tmp_path / "token").read_text() == new


@pytest.mark.parametrize("answers", [(405, 405), (404, 405), (501, 404)])
def test_no_method_that_works_is_an_absent_check_jwt(answers):
    replies = iter(Reply(status, b"", None, None) for status in answers)
    sent: list[str] = []

    def send(path, headers, auth=None, method="GET"):
        sent.append(method)
        return next(replies)

    opener = SessionOpener("gw", send, lambda reply, path: reply.body)
    assert opener.headers("tok") == {"Authorization": "Bearer tok"}
    assert opener.headers("tok2") == {"Authorization": "Bearer tok2"}
    assert sent == ["GET", "POST"] and opener.absent


def test_a_remembered_method_the_gateway_drops_falls_back_to_the_other():
    replies = iter(
        [
            Reply(405, b"", None, None),
            Reply(200, VALID.encode(), None, "s1"),  # POST
            Reply(405, b"", None, None),  # POST again: dropped
            Reply(200, VALID.encode(), None, "s2"),  # GET
        ]
    )
    sent: list[str] = []

    def send(path, headers, auth=None, method="GET"):
        sent.append(method)
        return next(replies)

    opener = SessionOpener("gw", send, lambda reply, path: reply.body)
    assert opener.headers("tok") == {"Cookie": "sessionId=s1"} and opener.method == "POST"
    assert opener.headers("tok") == {"Cookie": "sessionId=s2"} and opener.method == "GET"
    assert sent == ["GET", "POST", "POST", "GET"]


def test_a_refusal_by_post_is_a_refusal_of_the_token():
    replies = iter([Reply(405, b"", None, None), Reply(200, b"<h2>Invalid token.</h2>", None, None)])
    opener = SessionOpener("gw", lambda path, headers, auth=None, method="GET": next(replies), lambda r, p: r.body)
    with pytest.raises(EnvoyAuthError, match=r"refused the token at /auth/check_jwt \(an 'Invalid token' page\)"):
        opener.headers("tok")
    assert opener.method == "POST" and not opener.absent


def test_a_cookie_set_on_a_bearer_answer_is_used_until_refused(rsps, fake, tmp_path):
    token = make_token(100 * DAY_S)
    rsps.get(INFO, body=info_xml())
    rsps.get(CHECK, status=404)
    rsps.post(CHECK, status=404)
    rsps.get(DATA, json={"n": 1}, headers=cookie_of("from-data"))
    rsps.get(DATA, status=401)  # that session is gone
    rsps.get(DATA, json={"n": 2})
    client = make_client(fake, tmp_path, cached=token)
    client.get(READINGS)
    assert client.get(READINGS) == b'{"n": 2}'
    sent = [call.request.headers for call in rsps.calls[3:]]
    assert sent[0]["Authorization"] == f"Bearer {token}" and "Cookie" not in sent[0]
    assert sent[1]["Cookie"] == "sessionId=from-data" and "Authorization" not in sent[1]
    assert sent[2]["Authorization"] == f"Bearer {token}"  # refused: the token again, no check_jwt
    rsps.assert_call_count(CHECK, 2)  # the first GET and POST only


def test_a_firmware_update_learns_check_jwt_again(rsps, fake, tmp_path):
    rsps.get(INFO, body=info_xml())
    rsps.get(INFO, body=info_xml(software="D8.3.5167"))
    rsps.get(CHECK, status=404)
    rsps.post(CHECK, status=404)
    rsps.get(CHECK, body=VALID, headers=cookie_of("s1"))  # the new firmware has it
    rsps.get(DATA, json={})
    client = make_client(fake, tmp_path, cached=make_token(100 * DAY_S))
    client.get(READINGS)
    client.fetch_info()
    client.get(READINGS)
    assert calls(rsps)[4:] == [f"GET {INFO}", f"GET {CHECK}", f"GET {DATA}"]
    assert rsps.calls[-1].request.headers["Cookie"] == "sessionId=s1"
