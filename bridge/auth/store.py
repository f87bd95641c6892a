"""The token cache: one JWT in a file, mode 0600 in a directory of the bridge's own, replaced atomically.

Written through `bridge.files`: a temporary file in the same directory (O_EXCL, 0600), fsynced,
then renamed over the old one, so a crash at any moment leaves either the old or the new token,
never half of one; never through a symlink, and only in a directory that other users cannot
write to. A loose existing file is tightened to 0600 (or refused); a corrupt one is ignored
with a WARNING and the token fetched again. Only the JWT is stored, never a password. Failures
warn and never crash: the token is then kept in memory only.

Beside the cache, `<cache>.meta.json` says where the token came from: the flow that produced
it (or "import"), when, and its user type. The flow is tried first at the next renewal, after a
restart too. It is read tolerantly (anything odd: ignored with a WARNING) and tied to the token
by its expiry, so a cache replaced by other means is never attributed to the wrong flow. The
JWT file keeps its format: an older bridge reads it as before.

A gateway with a port used to share `token-<host>.jwt` with every other gateway of that host;
its cache is now `token-<host>_<port>.jwt`. The old file is read once, when the new one does
not exist yet, and copied to the new name, so an upgrade costs no cloud login.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bridge import files
from bridge.auth.tokens import TokenInfo, decode_token
from bridge.config import GatewayConfig
from bridge.config.schema import TOKEN_FLOWS
from bridge.errors import AuthError

log = logging.getLogger("bridge.auth")

# A JWT from Entrez is about 1 KiB; anything much bigger in the cache file is not ours.
MAX_TOKEN_BYTES = 16 * 1024
MAX_META_BYTES = 4 * 1024
# Where a cached token may come from: a cloud flow, or `token import`.
META_FLOWS = (*TOKEN_FLOWS, "import")


@dataclass(frozen=True, slots=True)
class TokenMeta:
    """Where the cached token came from. `expires_at` ties it to that one token."""

    flow: str  # one of META_FLOWS
    obtained_at: float  # epoch seconds
    user_type: str | None
    expires_at: float

    @classmethod
    def from_json(cls, data: bytes) -> TokenMeta:
        """ValueError when `data` is not metadata this bridge wrote."""
        doc: Any = json.loads(data)
        if not isinstance(doc, dict) or doc.get("flow") not in META_FLOWS:
            raise ValueError("not token metadata")
        times = [doc.get("obtained_at"), doc.get("expires_at")]
        user_type = doc.get("user_type")
        if not all(_is_time(t) for t in times) or not (user_type is None or isinstance(user_type, str)):
            raise ValueError("not token metadata")
        return cls(doc["flow"], float(doc["obtained_at"]), user_type, float(doc["expires_at"]))

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    def describes(self, info: TokenInfo) -> bool:
        """Whether this metadata is about the token `info` was read from (same expiry)."""
        return abs(self.expires_at - info.expires_at) < 1.0


class TokenStore:
    """One JWT in a file: mode 0600, a directory of ours, atomic replace. Failures warn, never crash."""

    def __init__(self, path: str | os.PathLike[str], previous: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        # The cache's name in an earlier version, read once when `path` does not exist yet.
        self.previous = Path(previous) if previous is not None else None
        self.meta_path = self.path.with_name(self.path.name + ".meta.json")

    @classmethod
    def for_gateway(cls, gateway: GatewayConfig) -> TokenStore | None:
        """The gateway's cache, or None when it has none."""
        if gateway.token_cache is None:
            return None
        return cls(gateway.token_cache, gateway.token_cache_previous)

    def load(self) -> str | None:
        if self.previous is not None and not os.path.lexists(self.path) and os.path.lexists(self.previous):
            return self._migrate(self.previous)
        return self._load(self.path)

    def _migrate(self, previous: Path) -> str | None:
        token = self._load(previous)
        if token is not None and self.save(token):
            log.info("token cache %s copied to %s, its new name", previous, self.path)
        return token

    def _load(self, path: Path) -> str | None:
        try:
            with files.open_regular(path) as fd:
                if not self._tighten(fd, path):
                    return None
                data = files.read_up_to(fd, MAX_TOKEN_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("token cache %s is unreadable (%s); ignoring it", path, _why(err))
            return None
        return self._parse(data, path)

    def _tighten(self, fd: int, path: Path) -> bool:
        mode = os.fstat(fd).st_mode & 0o777
        if not mode & 0o077:
            return True
        try:
            os.fchmod(fd, 0o600)
        except OSError as err:
            log.error(
                "token cache %s is readable by other users (mode %03o) and cannot be fixed (%s); not using it",
                path,
                mode,
                _why(err),
            )
            return False
        log.warning("token cache %s was readable by other users (mode %03o); changed it to 0600", path, mode)
        return True

    def _parse(self, data: bytes, path: Path) -> str | None:
        try:
            if len(data) > MAX_TOKEN_BYTES:
                raise AuthError("too big")
            token = data.decode("ascii").strip()
            decode_token(token)
        except (UnicodeDecodeError, AuthError):
            log.warning("token cache %s does not hold a readable token; ignoring it", path)
            return None
        return token

    def save(self, token: str, meta: TokenMeta | None = None) -> bool:
        """Write atomically, then the metadata; False (with a WARNING) when the token cannot be written."""
        try:
            files.write_private(self.path, token.strip().encode("ascii"))
        except (OSError, UnicodeEncodeError) as err:
            log.warning("cannot write token cache %s (%s); keeping the token in memory only", self.path, _why(err))
            return False
        if meta is not None:
            try:
                files.write_private(self.meta_path, meta.to_json())
            except OSError as err:
                log.warning("cannot write %s (%s); the token flow is not remembered", self.meta_path, _why(err))
        return True

    def load_meta(self) -> TokenMeta | None:
        """The cache's metadata; None when there is none, with a WARNING when it is unusable."""
        try:
            with files.open_regular(self.meta_path) as fd:
                data = files.read_up_to(fd, MAX_META_BYTES + 1)
            if len(data) > MAX_META_BYTES:
                raise ValueError("too big")
            return TokenMeta.from_json(data)
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("token metadata %s is unreadable (%s); ignoring it", self.meta_path, _why(err))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            log.warning("token metadata %s is not readable metadata; ignoring it", self.meta_path)
        return None


def _is_time(value: object) -> bool:
    """Epoch seconds: a finite, non-negative number (an integer too big for a float is not one)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:
        return False


def _why(err: BaseException) -> str:
    return getattr(err, "strerror", None) or type(err).__name__
