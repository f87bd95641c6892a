"""Describe a network failure (requests, urllib3, ssl, socket) in a few words for a log line.

Shared by every client the bridge has (gateway, Enphase cloud, MQTT): the words name the cause
(refused, timed out, TLS, name resolution) and never quote a header, a body or a URL's query.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import requests
import urllib3

_NAME_RESOLUTION = tuple(
    cls for cls in (socket.gaierror, getattr(urllib3.exceptions, "NameResolutionError", None)) if cls
)


def describe_transport_error(exc: BaseException) -> str:
    """Name the cause of a requests/urllib3 failure in a few words (never a header or a body)."""
    chain = list(_walk(exc))
    text = " ".join(str(e) for e in chain[:3])
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError, urllib3.exceptions.SSLError)) for e in chain):
        return "TLS error: " + _ssl_reason(chain)
    if (
        any(isinstance(e, _NAME_RESOLUTION) for e in chain)
        or "name resolution" in text.lower()
        or "Name or service not known" in text
    ):
        return "name resolution failed"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in chain):
        return "connect timed out"
    timeouts = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError, socket.timeout)
    if any(isinstance(e, timeouts) for e in chain) or "timed out" in text:
        return "timed out"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "connection reset"
    if any(isinstance(e, (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)) for e in chain):
        return "connection broken"
    return "connection failed"


# The request never left: no connection was made. Only then may a write be sent again.
_NOT_SENT = (
    requests.exceptions.ConnectTimeout,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.NewConnectionError,  # refused, unreachable; NameResolutionError too
    ConnectionRefusedError,
    *_NAME_RESOLUTION,
)


def failed_before_sending(exc: BaseException) -> bool:
    """Whether a failure happened before anything was sent (refused, unresolvable, connect
    timeout): a write that failed so may be sent again, any other one perhaps arrived."""
    return any(isinstance(e, _NOT_SENT) for e in _walk(exc))


def _walk(exc: BaseException | None, depth: int = 0) -> Iterator[BaseException]:
    """The exception, what it wraps (args, .reason) and its causes, depth-first."""
    if exc is None or depth > 8:
        return
    yield exc
    inner = [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        inner.append(reason)
    for item in [*inner, exc.__cause__, exc.__context__]:
        if item is not None and item is not exc:
            yield from _walk(item, depth + 1)


def _ssl_reason(chain: list[BaseException]) -> str:
    for e in reversed(chain):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verification failed ({e.verify_message})"
    for e in reversed(chain):
        if isinstance(e, ssl.SSLError):
            # An SSLError raised by Python code rather than OpenSSL has no `reason`.
            return (getattr(e, "reason", None) or str(e)).lower().replace("_", " ")[:120]
    return str(chain[-1])[:120]
