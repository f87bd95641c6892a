"""Reading a request: its verb from the topic, its JSON body, its transaction."""

from __future__ import annotations

import pytest

from bridge.admin.requests import Request, parse, request_filter, response, response_topic, verb_of
from bridge.errors import RequestRefused


def test_topics():
    assert request_filter("home/envoy") == "home/envoy/bridge/request/+"
    assert response_topic("envoy", "poll") == "envoy/bridge/response/poll"
    assert verb_of("envoy/bridge/request/poll", "envoy") == "poll"
    assert verb_of("envoy/bridge/request/bad verb", "envoy") is None  # cannot name a response topic
    assert verb_of("other/bridge/request/poll", "envoy") is None


@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"", Request("poll", {})),
        (b'{"gateway": "999000000003"}', Request("poll", {"gateway": "999000000003"})),
        (b'{"gateway": "gw", "transaction": "flow-7"}', Request("poll", {"gateway": "gw"}, "flow-7")),
        (b'{"transaction": 42}', Request("poll", {}, 42)),
    ],
)
def test_a_good_request(payload, expected):
    assert parse("poll", payload) == expected


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"{not json", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b'"poll"', "not a JSON object"),
        (b'{"a": NaN}', "not a JSON object"),
        (b"\xff\xfe", "not a JSON object"),
        (b"[" * 5000, "over 1024 bytes"),
        (b'{"transaction": true}', "`transaction`"),
        (b'{"transaction": "' + b"x" * 65 + b'"}', "`transaction`"),
    ],
)
def test_a_bad_body_is_refused_with_a_reason(payload, error):
    with pytest.raises(RequestRefused, match=error):
        parse("poll", payload)


def test_an_unknown_verb_is_refused_with_its_transaction():
    with pytest.raises(RequestRefused, match="unknown verb 'reboot'") as caught:
        parse("reboot", b'{"transaction": "t1"}')
    assert caught.value.transaction == "t1"


def test_the_response_document():
    assert response("t1", {"a": 1}) == {"status": "ok", "data": {"a": 1}, "error": None, "transaction": "t1"}
    assert response(None, error="too soon") == {
        "status": "error",
        "data": None,
        "error": "too soon",
        "transaction": None,
    }
