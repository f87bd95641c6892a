"""Log redaction: tokens, cookies, Authorization headers and configured secrets never reach a log.

It works on the final formatted text, tracebacks included, so no code path can forget it. A
gateway's document shown to a person (the `read` request, a capture) goes through
bridge/capture/redact.py, which adds serials, e-mail addresses, site names and coordinates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TextIO

MASK = "********"
PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}"),  # JWTs, even truncated ones
    re.compile(r"(?i)(sessionId|session_id|manager_token)(['\"]?\s*[=:]\s*['\"]?)[^\s;,'\"&}]+"),
    # A Digest header's value is a list of quoted fields: all of it goes, the response hash above all.
    re.compile(r"(?i)(Authorization)(['\"]?\s*[=:]\s*['\"]?)Digest\s[^'\n}]*"),
    re.compile(r"(?i)(Authorization)(['\"]?\s*[=:]\s*['\"]?)(?:(?:Bearer|Basic)\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)\b(response)(\s*=\s*\"?)[0-9a-f]{16,}"),  # a digest response outside its header
    re.compile(r"(?i)(Cookie|Set-Cookie)(['\"]?\s*[=:]\s*['\"]?)[^'\"\n}]+"),
    re.compile(r"(?i)(password|passwd|user\[password\])(['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"),
)


# Secrets learnt while running (the cloud API's access and refresh tokens, read from their
# file): every RedactingFormatter masks them too, from the moment they are added.
_learnt: set[str] = set()
MIN_LEARNT_LENGTH = 8  # a short string would mask ordinary words in every log line


def add_secrets(*values: str | None) -> None:
    """Mask these values in every log from now on (a token read from a file, for instance)."""
    _learnt.update(v for v in values if v and len(v) >= MIN_LEARNT_LENGTH)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in sorted(_learnt, key=len, reverse=True) if _learnt else ():
        text = text.replace(secret, MASK)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = PATTERNS[0].sub(MASK, text)
    for pattern in PATTERNS[1:]:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: tuple[str, ...] = ()):
        super().__init__(fmt)
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = tuple(sorted(set(secrets), key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def setup_logging(level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", tuple(secrets)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_log_level(level)


def set_log_level(level: str) -> None:
    """The bridge's loggers at `level` (at start, and by the `log_level` request at run time)."""
    root = logging.getLogger()
    root.setLevel(level)
    # urllib3 at DEBUG logs request lines only (never headers); paho's own logger stays quiet.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))
