"""The token cache: one JWT in a file, mode 0600 in a 0700 directory, replaced atomically.

Written to a temporary file in the same directory (O_EXCL, 0600), fsynced, then renamed over
the old one, so a crash at any moment leaves either the old or the new token, never half of
one. A loose existing file is tightened to 0600 (or refused); a corrupt one is ignored with a
WARNING and the token fetched again. Only the JWT is stored, never a password. Failures warn
and never crash: the token is then kept in memory only.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import suppress
from pathlib import Path

from bridge.auth.tokens import decode_token
from bridge.errors import AuthError

log = logging.getLogger("bridge.auth")

# A JWT from Entrez is about 1 KiB; anything much bigger in the cache file is not ours.
MAX_TOKEN_BYTES = 16 * 1024


class TokenStore:
    """One JWT in a file: mode 0600, directory 0700, atomic replace. Failures warn, never crash."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def load(self) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("token cache %s is unreadable (%s); ignoring it", self.path, _why(err))
            return None
        try:
            if not self._tighten(fd):
                return None
            data = os.read(fd, MAX_TOKEN_BYTES + 1)
        except OSError as err:
            log.warning("token cache %s is unreadable (%s); ignoring it", self.path, _why(err))
            return None
        finally:
            os.close(fd)
        return self._parse(data)

    def _tighten(self, fd: int) -> bool:
        mode = os.fstat(fd).st_mode & 0o777
        if not mode & 0o077:
            return True
        try:
            os.fchmod(fd, 0o600)
        except OSError as err:
            log.error(
                "token cache %s is readable by other users (mode %03o) and cannot be fixed (%s); not using it",
                self.path,
                mode,
                _why(err),
            )
            return False
        log.warning("token cache %s was readable by other users (mode %03o); changed it to 0600", self.path, mode)
        return True

    def _parse(self, data: bytes) -> str | None:
        try:
            if len(data) > MAX_TOKEN_BYTES:
                raise AuthError("too big")
            token = data.decode("ascii").strip()
            decode_token(token)
        except (UnicodeDecodeError, AuthError):
            log.warning("token cache %s does not hold a readable token; ignoring it", self.path)
            return None
        return token

    def save(self, token: str) -> bool:
        """Write atomically; False (with a WARNING) when the file cannot be written."""
        tmp: Path | None = None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
            try:
                _write_all(fd, token.strip().encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            tmp = None
            _fsync_dir(self.path.parent)
            return True
        except (OSError, UnicodeEncodeError) as err:
            log.warning("cannot write token cache %s (%s); keeping the token in memory only", self.path, _why(err))
            return False
        finally:
            if tmp is not None:
                with suppress(OSError):
                    os.unlink(tmp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not possible everywhere (some filesystems, Windows): best effort.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _why(err: BaseException) -> str:
    return getattr(err, "strerror", None) or type(err).__name__
