"""The token cache: one JWT in a file, mode 0600 in a directory of the bridge's own, replaced atomically.

Written through `bridge.files`: a temporary file in the same directory (O_EXCL, 0600), fsynced,
then renamed over the old one, so a crash at any moment leaves either the old or the new token,
never half of one; never through a symlink, and only in a directory that other users cannot
write to. A loose existing file is tightened to 0600 (or refused); a corrupt one is ignored
with a WARNING and the token fetched again. Only the JWT is stored, never a password. Failures
warn and never crash: the token is then kept in memory only.

A gateway with a port used to share `token-<host>.jwt` with every other gateway of that host;
its cache is now `token-<host>_<port>.jwt`. The old file is read once, when the new one does
not exist yet, and copied to the new name, so an upgrade costs no cloud login.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bridge import files
from bridge.auth.tokens import decode_token
from bridge.config import GatewayConfig
from bridge.errors import AuthError

log = logging.getLogger("bridge.auth")

# A JWT from Entrez is about 1 KiB; anything much bigger in the cache file is not ours.
MAX_TOKEN_BYTES = 16 * 1024


class TokenStore:
    """One JWT in a file: mode 0600, a directory of ours, atomic replace. Failures warn, never crash."""

    def __init__(self, path: str | os.PathLike[str], previous: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        # The cache's name in an earlier version, read once when `path` does not exist yet.
        self.previous = Path(previous) if previous is not None else None

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

    def save(self, token: str) -> bool:
        """Write atomically; False (with a WARNING) when the file cannot be written."""
        try:
            files.write_private(self.path, token.strip().encode("ascii"))
        except (OSError, UnicodeEncodeError) as err:
            log.warning("cannot write token cache %s (%s); keeping the token in memory only", self.path, _why(err))
            return False
        return True


def _why(err: BaseException) -> str:
    return getattr(err, "strerror", None) or type(err).__name__
