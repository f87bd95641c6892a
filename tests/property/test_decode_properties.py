"""decode_json over any bytes and any JSON text (hypothesis): a value or EnvoyDataError, never
another exception; what it returns is what the text says, strict (no NaN, no inf, no key twice)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import EnvoyDataError
from bridge.model import decode_json
from tests.property.strategies import JSONISH, SETTINGS

pytestmark = pytest.mark.property
EP = "/ivp/meters/readings"

# Pieces of JSON, so random bytes are often almost JSON: brackets, numbers, literals, quotes.
TOKENS = st.sampled_from(
    [b"{", b"}", b"[", b"]", b",", b":", b'"a"', b'"a"', b"1", b"-0.5e3", b"1e309", b"NaN", b"true", b"null", b" "]
)
ALMOST_JSON = st.lists(st.one_of(TOKENS, st.binary(max_size=4)), max_size=40).map(b"".join)


def strict(value: object) -> bool:
    """Only what strict JSON can say: finite numbers, string keys, no NaN."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and strict(v) for k, v in value.items())
    if isinstance(value, list):
        return all(strict(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (bool, int, str))


@SETTINGS
@given(st.one_of(st.binary(max_size=200), ALMOST_JSON))
def test_any_bytes_give_a_value_or_a_data_error(body):
    value, error = _decoded(body)
    if error is not None:
        assert error.startswith(f"{EP}: ") and len(error) < 200  # short, names the endpoint
    else:
        assert strict(value)


@SETTINGS
@given(JSONISH)
def test_a_strict_document_comes_back_as_it_was_written(value):
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        return  # nan or inf: not JSON at all
    if any(abs(n) > 1e308 for n in _numbers(value)):
        return  # an integer no float can hold is refused on purpose (test_decode.py)
    assert decode_json(EP, text.encode()) == value


@SETTINGS
@given(st.dictionaries(st.text(max_size=4), JSONISH, min_size=1, max_size=4), st.data())
def test_a_key_written_twice_is_a_data_error(obj, data):
    key = data.draw(st.sampled_from(sorted(obj)))
    members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in obj.items()] + [f"{json.dumps(key)}: 0"]
    text = "{" + ", ".join(members) + "}"
    wrapper = data.draw(st.sampled_from(["{}", '{{"devices": [{}]}}', "[1, {}]"]))
    with pytest.raises(EnvoyDataError):
        decode_json(EP, wrapper.format(text).encode())


def _decoded(body: bytes) -> tuple[object, str | None]:
    try:
        return decode_json(EP, body), None
    except EnvoyDataError as err:
        return None, str(err)


def _numbers(value: object):
    if isinstance(value, dict):
        for child in value.values():
            yield from _numbers(child)
    elif isinstance(value, list):
        for child in value:
            yield from _numbers(child)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value
