"""decode_json: strict JSON, clear errors naming the endpoint, never a long echo of the body."""

import sys

import pytest

from bridge.errors import EnvoyDataError
from bridge.model import decode_json
from bridge.model.parse.codec import EXCERPT_CHARS

EP = "/production.json?details=1"


def test_plain_json_is_decoded():
    assert decode_json(EP, b'{"production": [{"wNow": 1.5, "activeCount": 2}]}') == {
        "production": [{"wNow": 1.5, "activeCount": 2}]
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"wNow": NaN}',
        b'{"wNow": Infinity}',
        b'{"wNow": -Infinity}',
        b"[1, 2, NaN]",
        b'{"wNow": 1e309}',
        b'{"wNow": -1e309}',
        b'{"wNow": 123456789e400}',
        b'{"wNow": 1' + b"0" * 400 + b"}",  # an integer no float can hold
    ],
    ids=["nan", "infinity", "minus-infinity", "nan-in-list", "1e309", "minus-1e309", "big-exponent", "400-digits"],
)
def test_non_finite_numbers_are_rejected(body):
    with pytest.raises(EnvoyDataError, match="non-finite") as caught:
        decode_json(EP, body)
    assert str(caught.value).startswith(EP)


def test_integers_are_kept_up_to_the_largest_float_and_rejected_beyond():
    biggest = int(sys.float_info.max)  # 309 digits: a float holds it
    assert decode_json(EP, f'{{"a": {biggest}, "b": -{10**308}}}'.encode()) == {"a": biggest, "b": -(10**308)}
    for beyond in (10**309, -(10**309), 2**1024):
        with pytest.raises(EnvoyDataError, match="non-finite"):
            decode_json(EP, f'{{"a": {beyond}}}'.encode())


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b'{"production": [{"wNow": 1.5', "not JSON"),
        (b"<!DOCTYPE html><html><body><h2>Page Not Found</h2></body></html>", "not JSON"),
        (b"<h1>System Energy Production</h1><table><tr><td>Currently</td><td>6.63 kW</td></tr></table>", "not JSON"),
        (b'{"a": 1} trailing', "not JSON"),
        (b'{"a": "\xff\xfe\xfa"}', "undecodable"),
        (b"[" * 100_000 + b"]" * 100_000, "undecodable|not JSON"),
        (b"1" + b"0" * 5000, "non-finite|undecodable"),  # past Python's int digit limit
    ],
    ids=["empty", "blank", "truncated", "html-404", "html-production", "trailing", "bad-utf8", "deep", "digits"],
)
def test_bad_bodies_raise_data_error_naming_the_endpoint(body, reason):
    with pytest.raises(EnvoyDataError, match=reason) as caught:
        decode_json(EP, body)
    assert str(caught.value).startswith(f"{EP}: ")


def test_error_message_quotes_only_a_short_excerpt():
    body = b"<html>" + b"SECRET-LOOKING-TEXT " * 5000 + b"</html>"
    with pytest.raises(EnvoyDataError) as caught:
        decode_json(EP, body)
    message = str(caught.value)
    assert len(message) < len(EP) + 60 + EXCERPT_CHARS * 2
    assert message.count("SECRET-LOOKING-TEXT") <= 2


def test_non_finite_token_is_clipped_in_the_message():
    with pytest.raises(EnvoyDataError) as caught:
        decode_json(EP, b'{"x": 1' + b"9" * 3000 + b"e999}")
    assert len(str(caught.value)) < 200


def test_str_body_is_accepted_like_bytes():
    assert decode_json(EP, '{"a": [1, 2.5, null, true, "x"]}') == {"a": [1, 2.5, None, True, "x"]}


@pytest.mark.parametrize(
    "body",
    [
        b'{"wNow": 5, "wNow": -99999}',
        b'[{"eid": 1, "activePower": 1, "activePower": 2}]',
        b'{"a": {"b": {"c": 1, "c": 1}}}',  # even the same value twice: the body is not what it claims
    ],
    ids=["top-level", "in-a-list", "nested-same-value"],
)
def test_h11_6b_duplicate_keys_are_a_data_error_for_that_endpoint(body):
    with pytest.raises(EnvoyDataError, match="duplicate key") as caught:
        decode_json(EP, body)
    assert str(caught.value).startswith(EP)


def test_h11_6b_a_long_duplicate_key_is_clipped_in_the_message():
    key = "k" * 5000
    with pytest.raises(EnvoyDataError) as caught:
        decode_json(EP, f'{{"{key}": 1, "{key}": 2}}')
    assert len(str(caught.value)) < 2 * EXCERPT_CHARS + len(EP) + 40
