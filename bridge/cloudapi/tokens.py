"""The cloud API's OAuth tokens and their file, `cloud-api-tokens.json` beside the token cache.

The file is written through `bridge.files` (0600, atomic, never through a symlink) and read
tolerantly: anything odd is ignored with one WARNING, as if there were no tokens (then
`cloud authorize` is needed). The tokens never appear in a repr or a log: their values are
added to the log redaction as soon as they are read or made.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge import files, redaction

log = logging.getLogger("bridge.cloudapi")

TOKENS_FILE = "cloud-api-tokens.json"
MAX_TOKENS_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class CloudTokens:
    """An access token (a day) and the refresh token that renews it (30 days, rotated on use)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float  # epoch seconds
    refresh_expires_at: float  # epoch seconds: Enphase does not say; 30 days from issue
    obtained_at: float

    def to_json(self) -> bytes:
        doc = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "obtained_at": self.obtained_at,
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> CloudTokens:
        """ValueError when `data` is not a tokens file this bridge wrote."""
        doc: Any = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError("not a mapping")  # noqa: TRY004 - every kind of "not ours" is a ValueError
        access, refresh = doc.get("access_token"), doc.get("refresh_token")
        times = [doc.get(key) for key in ("access_expires_at", "refresh_expires_at", "obtained_at")]
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise ValueError("not cloud API tokens")
        access_expires, refresh_expires, obtained = (_time(t) for t in times)
        return cls(access, refresh, access_expires, refresh_expires, obtained)


class TokenFile:
    """`cloud-api-tokens.json`: load and save, never raising; failures are one log line each."""

    def __init__(self, path: Path, *, own_dir: bool = True):
        self.path = path
        self.own_dir = own_dir  # the bridge's cache directory: created or tightened to 0700

    def load(self) -> CloudTokens | None:
        try:
            data = files.read_regular(self.path, MAX_TOKENS_BYTES)
            if len(data) > MAX_TOKENS_BYTES:
                raise ValueError("too big")
            tokens = CloudTokens.from_json(data)
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("cloud API tokens %s are unreadable (%s); ignoring them", self.path, _why(err))
            return None
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            log.warning("cloud API tokens %s are not a tokens file; ignoring them", self.path)
            return None
        redaction.add_secrets(tokens.access_token, tokens.refresh_token)
        return tokens

    def save(self, tokens: CloudTokens) -> bool:
        """False (with an ERROR) when the file cannot be written: a rotated refresh token that is
        not kept is lost at the next restart, so this is loud."""
        redaction.add_secrets(tokens.access_token, tokens.refresh_token)
        try:
            files.write_private(self.path, tokens.to_json(), own_dir=self.own_dir)
        except OSError as err:
            log.error("cannot write cloud API tokens %s (%s); they are kept in memory only", self.path, _why(err))
            return False
        return True


def _time(value: object) -> float:
    """Epoch seconds: a finite, non-negative number; ValueError for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 2**40:
        return float(value)
    raise ValueError("not a time")


def _why(err: OSError) -> str:
    return err.strerror or type(err).__name__
