"""Strict JSON decoding and the typed field readers every endpoint parser uses.

The parsers only ever see documents that went through `decode_json`, but they are also
fed hand-made documents in tests, so every reader re-checks what it reads: a wrong type
or a non-finite number is an EnvoyDataError, never a KeyError/TypeError escaping.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import NoReturn, TypeGuard

from bridge.errors import EnvoyDataError, EnvoyErrorDocument

# Error messages quote at most this much of a body: enough to recognise an HTML error
# page, short enough never to flood a log or leak a large document.
EXCERPT_CHARS = 40
FLOAT_DIGITS = 308  # 10**308 - 1 < the largest float (1.8e308): shorter integers always fit


class _NonFiniteError(ValueError):
    """Raised from inside json.loads hooks; turned into EnvoyDataError by decode_json."""


class _DuplicateKeyError(ValueError):
    """An object names one key twice: which value the gateway meant cannot be known."""


def excerpt(body: bytes | str) -> str:
    """A short, single-line, printable quote of the start of a body."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    clipped = " ".join(text[: EXCERPT_CHARS * 4].split())[:EXCERPT_CHARS]
    return repr(clipped) + ("..." if len(text.strip()) > len(clipped) else "")


def _reject_constant(token: str) -> NoReturn:
    raise _NonFiniteError(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):  # 1e309 parses to inf
        raise _NonFiniteError(token[:EXCERPT_CHARS])
    return value


def _finite_int(token: str) -> int:
    value = int(token)
    # An integer no float can hold is as useless as inf; up to 308 digits every one fits (the
    # cheap test first: a body has thousands of integers).
    if len(token) > FLOAT_DIGITS and not is_finite_number(value):
        raise _NonFiniteError(token[:EXCERPT_CHARS])
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # the cheap test first: a body has thousands of objects
        counts = Counter(key for key, _ in pairs)
        raise _DuplicateKeyError(next(key for key, n in counts.items() if n > 1))
    return obj


def decode_json(endpoint: str, body: bytes | str) -> object:
    """Decode a body as strict JSON: no NaN/Infinity, no non-finite numbers, no duplicate keys
    (Python would silently keep the last value), no HTML."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, (bytes, bytearray)) or not body.strip():
        raise EnvoyDataError(f"{endpoint}: empty body")
    try:
        return json.loads(
            body,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_finite_int,
            object_pairs_hook=_unique_keys,
        )
    except _NonFiniteError as err:
        raise EnvoyDataError(f"{endpoint}: non-finite number {str(err)[:EXCERPT_CHARS]!r}") from None
    except _DuplicateKeyError as err:
        raise EnvoyDataError(f"{endpoint}: duplicate key {excerpt(str(err))} in one object") from None
    except json.JSONDecodeError as err:
        raise EnvoyDataError(f"{endpoint}: not JSON ({err.msg} at char {err.pos}): {excerpt(body)}") from None
    except (ValueError, RecursionError) as err:  # bad UTF-8, absurdly long digits, deep nesting
        raise EnvoyDataError(f"{endpoint}: undecodable body ({type(err).__name__}): {excerpt(body)}") from None


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """True for int/float (never bool) that a float can represent finitely."""
    if type(value) is float:  # the common case, in one type check: a body has thousands of numbers
        return math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # math.isfinite(10**400)
        return False


# Keys of the gateway's own error documents: `{"error": "404 - Not Found"}` on most firmware,
# `{"err": "404 - Not Found"}` on the /ivp/ss/* endpoints of 5.x (5.0.62 capture).
ERROR_KEYS = ("error", "err")


def reject_error_document(endpoint: str, doc: object) -> None:
    """Some firmware answers 200 with an error document for a missing endpoint."""
    if not isinstance(doc, dict):
        return
    key = next((k for k in ERROR_KEYS if k in doc), None)
    if key is not None:
        detail = doc[key] if isinstance(doc[key], str) else type(doc[key]).__name__
        raise EnvoyErrorDocument(f"{endpoint}: gateway answered an error document {excerpt(detail)}")


class Fields:
    """Typed, None-tolerant access to one JSON object, naming the endpoint and path on error."""

    __slots__ = ("data", "endpoint", "path")

    def __init__(self, endpoint: str, path: str, data: object):
        if not isinstance(data, dict):
            raise EnvoyDataError(f"{endpoint}: {path or 'body'}: expected an object, got {_kind(data)}")
        self.endpoint, self.path = endpoint, path
        self.data: dict[str, object] = data

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _fail(self, key: str, wanted: str, value: object) -> EnvoyDataError:
        return EnvoyDataError(f"{self.endpoint}: {self.where(key)}: expected {wanted}, got {_kind(value)}")

    def has(self, key: str) -> bool:
        return key in self.data

    def number(self, key: str) -> float | int | None:
        """A finite int or float; missing or null means "not reported" (None)."""
        value = self.data.get(key)
        if value is None or is_finite_number(value):
            return value
        raise self._fail(key, "a finite number", value)

    def count(self, key: str) -> int | None:
        """A non-negative integer such as activeCount or phaseCount."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "a non-negative integer", value)
        return value

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def flag(self, key: str) -> bool | None:
        """A boolean; the gateway also writes some as 0/1 (generator `present`)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise self._fail(key, "a boolean", value)

    def text_flag(self, key: str) -> bool | None:
        """A boolean the gateway writes as text, "true"/"false" (dry contact `override`)."""
        value = self.data.get(key)
        if not isinstance(value, str):
            return self.flag(key)
        if value.lower() not in ("true", "false"):
            raise self._fail(key, '"true" or "false"', value)
        return value.lower() == "true"

    def epoch(self, key: str) -> int | None:
        """Unix seconds, as a number or as a string of digits (/inventory.json, tariff `date`).
        0 and negative values mean "never" on the gateway: not reported."""
        value = self.data.get(key)
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
            value = int(value.strip())
        if value is None:
            return None
        if is_finite_number(value):
            return int(value) if value > 0 else None
        raise self._fail(key, "unix seconds", value)

    def child(self, key: str) -> Fields | None:
        """A nested object; missing or null is None."""
        value = self.data.get(key)
        return None if value is None else Fields(self.endpoint, self.where(key), value)

    def ident(self, key: str) -> str:
        """A required identifier (eid, serial) given as an integer or a string; kept as text."""
        value = self.data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise self._fail(key, "an identifier", value)

    def objects(self, key: str) -> list[Fields]:
        """A list of objects; missing or null is an empty list."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return [Fields(self.endpoint, f"{self.where(key)}[{i}]", item) for i, item in enumerate(value)]

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(key, "a list of strings", value)
        return tuple(value)


def object_list(endpoint: str, doc: object) -> list[Fields]:
    """A top-level JSON array of objects."""
    reject_error_document(endpoint, doc)
    if not isinstance(doc, list):
        raise EnvoyDataError(f"{endpoint}: expected a list, got {_kind(doc)}")
    return [Fields(endpoint, f"[{i}]", item) for i, item in enumerate(doc)]


def device_groups(endpoint: str, doc: object) -> Iterator[tuple[str, list[Fields]]]:
    """An inventory: a top-level list of `{"type": ..., "devices": [...]}`, as (type, devices);
    the type is "" where the gateway names none. Lazy, so a group is read as it is used."""
    return ((group.text("type") or "", group.objects("devices")) for group in object_list(endpoint, doc))


def top_object(endpoint: str, doc: object) -> Fields:
    reject_error_document(endpoint, doc)
    return Fields(endpoint, "", doc)


def optional_ident(fields: Fields, key: str) -> str | None:
    """An identifier that may be missing (a device without serial_num cannot be keyed)."""
    return fields.ident(key) if fields.data.get(key) is not None else None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    return type(value).__name__
