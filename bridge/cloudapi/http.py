"""What every request to the cloud API shares: the session, its timeouts, and reading Enphase's
error envelopes into a few words for a log line (never a header, a token or the whole body)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from bridge.auth.cloud import ExtraCAAdapter
from bridge.config import CloudApiConfig

CONNECT_TIMEOUT_S = 10.0
MAX_WORDS = 120  # characters of a reply's message kept for a log line


def new_session(cfg: CloudApiConfig) -> requests.Session:
    """A session that ignores the environment's proxies and netrc (the API key and tokens go
    nowhere else) and always verifies TLS, with the configured extra CA if any."""
    session = requests.Session()
    session.trust_env = False
    session.verify = True
    if cfg.ca_file:
        session.mount("https://", ExtraCAAdapter(cfg.ca_file))
    return session


def timeouts(cfg: CloudApiConfig) -> tuple[float, float]:
    return (min(CONNECT_TIMEOUT_S, cfg.timeout), cfg.timeout)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of an error reply a log line may show (reference §4.5.10, OAuth errors)."""

    message: str = ""  # "Not Authorized", "Too Many Requests"; OAuth: `error` ("invalid_grant")
    details: str = ""  # "Invalid API key", "Usage limit exceeded for plan Watt"; OAuth: its description
    period: str = ""  # a 429's "minute" or "month"
    period_end: float | None = None  # a 429's end of the period, epoch s, when given

    def words(self) -> str:
        return ": ".join(part for part in (self.message, self.details) if part) or "no explanation"


def envelope(response: requests.Response) -> Envelope:
    """The error envelope of `response`, tolerant of any body (empty, HTML, a list...)."""
    try:
        doc: Any = json.loads(response.content[:16384] or b"null")
    except ValueError:
        return Envelope()
    if not isinstance(doc, dict):
        return Envelope()
    end = doc.get("period_end")
    return Envelope(
        message=_short(doc.get("message") or doc.get("error")),
        details=_short(doc.get("details") or doc.get("error_description")),
        period=_short(doc.get("period")),
        period_end=float(end) if isinstance(end, int) and not isinstance(end, bool) and 0 < end < 2**40 else None,
    )


def _short(value: object) -> str:
    if isinstance(value, list):  # the 405/501 envelope: "message": ["Method not allowed"]
        value = " ".join(str(v) for v in value[:3])
    return str(value)[:MAX_WORDS].replace("\n", " ") if value not in (None, "") else ""
