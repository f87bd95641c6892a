"""Sessions of the fake Enphase cloud: an Enlighten login's and an Entrez form login's; thread-safe.

A session opened on one site is no good on the other (an Entrez SESSION cookie does not sign
anyone in to Enlighten), and each ends after `idle_s` without use, as a web session does.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

ENLIGHTEN = "enlighten"  # login.json: a 32-hex session_id, also the _enlighten_4_session cookie
ENTREZ = "entrez"  # the Entrez form login: a SESSION cookie (base64 of a UUID, as Spring Session)


@dataclass
class _Session:
    site: str
    email: str
    last_use: float


class CloudSessions:
    def __init__(self, idle_s: float, time_func: Callable[[], float] = time.time):
        self.idle_s = idle_s
        self._time = time_func
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def open(self, site: str, email: str) -> str:
        session_id = secrets.token_hex(16) if site == ENLIGHTEN else _spring_session_id()
        with self._lock:
            self._sessions[session_id] = _Session(site, email, self._time())
        return session_id

    def use(self, site: str, session_id: str | None) -> str | None:
        """The e-mail signed in with this session of `site`, else None; using it keeps it alive."""
        now = self._time()
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is None or session.site != site:
                return None
            if now - session.last_use > self.idle_s:
                del self._sessions[session_id or ""]
                return None
            session.last_use = now
            return session.email

    def forget(self) -> None:
        with self._lock:
            self._sessions.clear()


def _spring_session_id() -> str:
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()
