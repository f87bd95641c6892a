"""How a token becomes a session on one gateway: `/auth/check_jwt` by GET or POST, or not at all.

Firmware 7+ trades a JWT at `/auth/check_jwt` for a `sessionId` cookie (reference
enphase-cloud-and-controls §3.8). Clients call it by GET (pyenphase) or by POST (Matthew1471,
the installer integration), and firmware differ: a method refused with 405 (or 501) gets the
other, and the one that answered is kept, so later sessions open with it directly. A gateway
without check_jwt (404, or no method that works) gets the token itself as
`Authorization: Bearer` on every request. One `SessionOpener` per firmware: an update may
change all of this. Nothing here logs or puts into a message a token or a session id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bridge.errors import EnvoyAuthError
from bridge.gateway.transport import AUTH_REFUSED, SESSION_COOKIE, Reply, Send

log = logging.getLogger(__name__)

CHECK_JWT = "/auth/check_jwt"
METHODS = ("GET", "POST")
# The answers of a firmware without this method (405, 501) or without the endpoint (404).
NOT_HERE = frozenset({404, 405, 501})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie(session_id: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session_id}"}


class SessionOpener:
    """Opens sessions at this gateway's check_jwt by the method it answers, or says there is none."""

    def __init__(self, label: str, send: Send, checked: Callable[[Reply, str], bytes]):
        self._label, self._send, self._checked = label, send, checked
        self.method: str | None = None  # the method check_jwt answered; None until one did
        self.absent = False  # no check_jwt by any method: the token goes with every request

    def headers(self, token: str) -> dict[str, str]:
        """The headers that carry `token` from now on: check_jwt's cookie, else the token itself.

        Raises EnvoyAuthError when the gateway refuses the token, EnvoyUnavailable when it
        cannot be reached, another EnvoyError for any other answer.
        """
        session_id = None if self.absent else self._check(token)
        return cookie(session_id) if session_id else bearer(token)

    def _check(self, token: str) -> str | None:
        """check_jwt by the known method first; the session id, or None when no cookie came."""
        refused: list[str] = []
        for method in self._methods():
            reply = self._send(CHECK_JWT, bearer(token), method=method)
            if reply.status in NOT_HERE:
                refused.append(f"{method}: HTTP {reply.status}")
                continue
            if method != self.method:
                log.debug("%s: %s answers %s (%s)", self._label, CHECK_JWT, method, ", ".join(refused) or "first try")
            self.method = method
            return self._session_of(reply)
        self.absent = True
        log.info(
            "%s: the gateway has no %s (%s): sending the token with every request instead of a session cookie",
            self._label,
            CHECK_JWT,
            ", ".join(refused),
        )
        return None

    def _methods(self) -> tuple[str, ...]:
        # The method that answered last time first; the other still, should a firmware drop it.
        known = self.method
        return (known, *(method for method in METHODS if method != known)) if known else METHODS

    def _session_of(self, reply: Reply) -> str | None:
        if reply.status in AUTH_REFUSED or b"Invalid token" in reply.body[:200]:
            why = f"HTTP {reply.status}" if reply.status in AUTH_REFUSED else "an 'Invalid token' page"
            raise EnvoyAuthError(f"{self._label}: the gateway refused the token at {CHECK_JWT} ({why})")
        self._checked(reply, CHECK_JWT)
        return reply.session_id
