"""Files the bridge writes (the health document, token caches, the computed energy state): never
through a symbolic link, in a directory of its own, replaced atomically.

The bridge often runs as root, and its cache directory may be shared (a Docker volume, a home
directory, /tmp): whoever can write there could point `health` or `token-*.jwt` at /etc/shadow,
and a bridge that followed the link would create, truncate or chmod that file. So:

- a directory is opened once, without following a link, and every file is reached relative to
  that descriptor (no name can be swapped between the check and the use);
- the directory must be ours (owned by this user, not a symlink, not a sticky /tmp-like one).
  The cache directory is the bridge's own: created 0700, or tightened to 0700 with a warning.
  Any other directory (a `token_cache` the user put elsewhere) is never chmod-ed, only refused
  when other users may write to it;
- a file is written under a random temporary name (O_EXCL, 0600) and renamed over the old one:
  a crash leaves the old or the new content, and a rename replaces a symlink, never its target;
- a file is read without following a link, and only when it is a regular file (a FIFO planted
  there would block the reader forever).

A refusal raises `UnsafePath`, an OSError whose text names the path and says why in one line.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger("bridge.files")

# Flags that are missing on some platforms are 0 there: the checks below still refuse links.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OTHERS = 0o077  # any permission for the group or other users
_OTHERS_WRITE = 0o022


class UnsafePath(PermissionError):
    """A place the bridge refuses to read or write; str() is "<path>: <why>" on one line."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(errno.EPERM, reason, os.fspath(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def ensure_private_dir(path: Path) -> None:
    """Make `path` the bridge's own directory: created 0700, tightened to 0700, or refused."""
    os.close(_open_dir(path, tighten=True))


def write_private(path: Path, data: bytes, *, own_dir: bool = False, durable: bool = True) -> None:
    """Replace `path` with `data` atomically, mode 0600, never through a symlink.

    `own_dir`: the directory is the bridge's cache directory (tightened to 0700 if loose);
    otherwise it is only checked. `durable`: fsync the file and the directory (a token cache
    must survive a power cut; the health document, rewritten every few seconds, need not).
    Raises OSError (UnsafePath when the place is refused); the old file stays whole on failure.
    """
    dir_fd = _open_dir(path.parent, tighten=own_dir)
    tmp = f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    else:
        if durable:
            with suppress(OSError):  # makes the rename durable; not every filesystem can
                os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def open_regular(path: Path) -> Iterator[int]:
    """A read-only descriptor of the regular file `path`, not through a symlink, closed on exit.

    FileNotFoundError when there is nothing; UnsafePath for a link, FIFO, device, directory, or a
    file with other hard links.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError as err:
        if err.errno == errno.ELOOP or (err.errno != errno.ENOENT and path.is_symlink()):
            raise UnsafePath(path, "is a symbolic link; not following it") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(path, "is not a regular file")
        if info.st_nlink > 1:  # a hard link planted to another file (a chmod would reach that file)
            raise UnsafePath(path, "has other hard links; not using it")
        yield fd
    finally:
        os.close(fd)


def read_regular(path: Path, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of the regular file `path` (one more than allowed says "too big")."""
    with open_regular(path) as fd:
        return read_up_to(fd, limit + 1)


def read_up_to(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0 and (chunk := os.read(fd, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _open_dir(path: Path, *, tighten: bool) -> int:
    """A descriptor of the directory `path` once it passes the checks (created 0700 if missing)."""
    with suppress(FileExistsError):  # a file or a dangling link there: reported below
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as err:
        if path.is_symlink():
            raise UnsafePath(path, "is a symbolic link; the bridge writes only in a real directory") from None
        if err.errno == errno.ENOTDIR:
            raise UnsafePath(path, "is not a directory") from None
        raise
    try:
        _check_dir(fd, path, tighten)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_dir(fd: int, path: Path, tighten: bool) -> None:
    info = os.fstat(fd)
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise UnsafePath(
            path, f"is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()}): chown it to this user"
        )
    if mode & stat.S_ISVTX:
        raise UnsafePath(path, f"is a shared directory (mode {mode:04o}, like /tmp): use a directory of its own")
    if not mode & _OTHERS:
        return
    if not tighten:
        if mode & _OTHERS_WRITE:
            raise UnsafePath(path, f"is writable by other users (mode {mode:04o}): make it 0700 or 0755")
        return
    try:
        os.fchmod(fd, 0o700)
    except OSError as err:
        raise UnsafePath(
            path, f"is open to other users (mode {mode:04o}) and cannot be made 0700 ({_why(err)})"
        ) from None
    log.warning("%s was open to other users (mode %04o); changed it to 0700", path, mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _why(err: OSError) -> str:
    return err.strerror or type(err).__name__
