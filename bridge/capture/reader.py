"""Reading every endpoint of a capture once, politely: one request at a time through the
bridge's own client (its credentials, token, pinned TLS, timeouts and retries), a pause between
two requests, and every answer kept whatever its status.

An endpoint that cannot be read (the gateway does not answer it in time, a body too large) is
recorded with the reason and the capture goes on; the gateway gone for several endpoints in a
row, a wrong certificate or credentials that cannot be had stop it (`EnvoyUnavailable`,
`TLSPinError`, `AuthError`), with the reason the bridge gives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bridge.errors import EnvoyError, EnvoyHTTPError, EnvoyUnavailable, TLSPinError
from bridge.gateway.client import PROOF_READ
from bridge.gateway.transport import AUTH_REFUSED, Reply
from bridge.model import GatewayInfo
from bridge.redaction import redact

log = logging.getLogger(__name__)

DEFAULT_PAUSE_S = 0.5  # between two requests: the gateway serves its own tasks too
UNAVAILABLE_IN_A_ROW = 3  # the gateway is gone, not one slow endpoint: stop


class Client(Protocol):
    """What the reader needs of `bridge.gateway.client.EnvoyClient`."""

    def fetch_info(self) -> GatewayInfo: ...

    def fetch(self, endpoint: str, probing: bool = True) -> Reply: ...


@dataclass(frozen=True, slots=True)
class Answer:
    endpoint: str
    status: int | None  # None: no answer (see `error`)
    body: bytes = b""
    content_type: str | None = None
    seconds: float = 0.0
    error: str | None = None  # why there is no answer, in the bridge's words (secrets masked)


def read_all(
    client: Client,
    endpoints: Iterable[str],
    pause_s: float = DEFAULT_PAUSE_S,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[GatewayInfo, list[Answer]]:
    """`/info` as the gateway's identity, then one answer per endpoint, in order."""
    info = client.fetch_info()
    answers: list[Answer] = []
    unavailable = 0
    for index, endpoint in enumerate(endpoints):
        if index:
            sleep(pause_s)
        answer = _read_one(client, endpoint, monotonic)
        log.info("capture %s: %s", endpoint, answer.status or answer.error)
        answers.append(answer)
        unavailable = unavailable + 1 if answer.status is None else 0
        if unavailable >= UNAVAILABLE_IN_A_ROW:
            raise EnvoyUnavailable(f"the gateway stopped answering during the capture: {answer.error}")
    return info, answers


def _read_one(client: Client, endpoint: str, monotonic: Callable[[], float]) -> Answer:
    started = monotonic()
    try:
        reply = client.fetch(endpoint, probing=endpoint != PROOF_READ)
    except EnvoyHTTPError as err:
        if err.status not in AUTH_REFUSED:
            return Answer(endpoint, None, seconds=monotonic() - started, error=redact(str(err)))
        return Answer(endpoint, err.status, seconds=monotonic() - started)  # not for these credentials
    except TLSPinError:
        raise
    except EnvoyError as err:  # unavailable, too large, undecodable: recorded, the capture goes on
        return Answer(endpoint, None, seconds=monotonic() - started, error=redact(str(err)))
    return Answer(endpoint, reply.status, reply.body, reply.content_type, monotonic() - started)
