"""A request as it arrives: `{base}/bridge/request/<verb>` and a JSON body, read without trusting either.

The body is a JSON object (or nothing: `{}`); its optional `transaction` (text up to 64
characters, or a whole number) comes back on the response, so a caller can match the two.
Anything else is refused with a reason; nothing here raises past `RequestRefused`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bridge import identifiers
from bridge.errors import RequestRefused

REQUEST, RESPONSE = "request", "response"
VERBS = ("poll", "renew_token", "rediscover", "read", "health_check", "log_level")
MAX_PAYLOAD_BYTES = 1024  # the longest request names a gateway, an endpoint and a transaction
MAX_TRANSACTION_CHARS = 64


@dataclass(frozen=True)
class Request:
    verb: str
    body: dict[str, Any]
    transaction: str | int | None = None


def request_filter(base_topic: str) -> str:
    return f"{base_topic}/bridge/{REQUEST}/+"


def response_topic(base_topic: str, verb: str) -> str:
    return f"{base_topic}/bridge/{RESPONSE}/{verb}"


def verb_of(topic: str, base_topic: str) -> str | None:
    """The verb level of a request topic, when it may name a response topic; else None."""
    verb = topic.removeprefix(f"{base_topic}/bridge/{REQUEST}/")
    return verb if verb != topic and identifiers.serial_problem(verb) is None else None


def parse(verb: str, payload: bytes) -> Request:
    """The request in `payload`; raises RequestRefused, with the transaction when one was read."""
    body = _body(payload)
    transaction = _transaction(body.pop("transaction", None))
    if verb not in VERBS:
        raise RequestRefused(f"unknown verb {verb!r}; known: {', '.join(VERBS)}", transaction)
    return Request(verb, body, transaction)


def response(transaction: str | int | None, data: Any = None, error: str | None = None) -> dict[str, Any]:
    return {"status": "error" if error else "ok", "data": data, "error": error, "transaction": transaction}


def _body(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise RequestRefused(f"the body is over {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8").strip()
        document = json.loads(text, parse_constant=_no_constant) if text else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestRefused("the body is not a JSON object") from None
    if not isinstance(document, dict):
        raise RequestRefused("the body is not a JSON object")
    return document


def _transaction(value: object) -> str | int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53):
        return value
    if isinstance(value, str) and len(value) <= MAX_TRANSACTION_CHARS:
        return value
    raise RequestRefused(f"`transaction` must be text up to {MAX_TRANSACTION_CHARS} characters or a whole number")


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON
