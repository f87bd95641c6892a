"""bridge.files: written files never follow a symlink, live in a directory of the bridge's own,
and are replaced atomically; read files are regular files reached without a link."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from bridge.files import UnsafePath, ensure_private_dir, read_regular, write_private

OTHER_UID = 54321  # no such user: a directory "owned by someone else" (the tests run as root or not)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_write_creates_a_0700_directory_and_a_0600_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "cache" / "health"
    write_private(path, b"one", own_dir=True)
    write_private(path, b"two", own_dir=True)
    assert path.read_bytes() == b"two"
    assert (mode(tmp_path / "cache"), mode(path)) == (0o700, 0o600)
    assert os.listdir(tmp_path / "cache") == ["health"]


def test_h11_8_a_symlink_at_the_file_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    os.chmod(victim, 0o644)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "health").symlink_to(victim)
    (cache / "dangling").symlink_to(tmp_path / "created-by-the-bridge")
    write_private(cache / "health", b"{}", own_dir=True)
    write_private(cache / "dangling", b"{}", own_dir=True)
    assert victim.read_bytes() == b"precious" and mode(victim) == 0o644
    assert not (tmp_path / "created-by-the-bridge").exists()
    assert not (cache / "health").is_symlink() and (cache / "health").read_bytes() == b"{}"


def test_h11_8_a_world_writable_cache_dir_is_tightened_with_one_warning(tmp_path, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    with caplog.at_level(logging.WARNING):
        ensure_private_dir(cache)
        write_private(cache / "health", b"{}", own_dir=True)
    assert mode(cache) == 0o700
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [f"{cache} was open to other users (mode 0777); changed it to 0700"]


def test_h11_8_a_symlinked_cache_dir_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(real)
    with pytest.raises(UnsafePath) as err:
        write_private(tmp_path / "cache" / "health", b"{}", own_dir=True)
    assert str(err.value) == f"{tmp_path / 'cache'}: is a symbolic link; the bridge writes only in a real directory"
    assert os.listdir(real) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory to another user")
def test_h11_8_a_cache_dir_owned_by_someone_else_is_refused_and_left_alone(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    os.chown(cache, OTHER_UID, -1)
    with pytest.raises(UnsafePath, match=rf"owned by uid {OTHER_UID}, not by this user \(uid 0\)"):
        ensure_private_dir(cache)
    assert mode(cache) == 0o777 and os.listdir(cache) == []


def test_a_sticky_shared_directory_is_refused_not_chmodded(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    for own_dir in (True, False):
        with pytest.raises(UnsafePath, match=r"shared directory \(mode 1777"):
            write_private(shared / "token.jwt", b"x", own_dir=own_dir)
    assert mode(shared) == 0o1777


def test_a_directory_that_is_not_the_cache_is_checked_never_chmodded(tmp_path):
    readable = tmp_path / "etc"
    readable.mkdir()
    os.chmod(readable, 0o755)
    write_private(readable / "token.jwt", b"x")  # readable by others, the file is 0600: fine
    assert mode(readable) == 0o755 and mode(readable / "token.jwt") == 0o600
    os.chmod(readable, 0o775)
    with pytest.raises(UnsafePath, match=r"writable by other users \(mode 0775\)"):
        write_private(readable / "token.jwt", b"y")
    assert mode(readable) == 0o775 and (readable / "token.jwt").read_bytes() == b"x"


def test_a_file_where_the_directory_should_be_is_refused(tmp_path):
    (tmp_path / "cache").write_text("x")
    with pytest.raises(UnsafePath, match="is not a directory"):
        ensure_private_dir(tmp_path / "cache")


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "token"
    write_private(path, b"old")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        write_private(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["token"]


def test_read_refuses_links_fifos_and_hard_links(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    (tmp_path / "link").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")  # a FIFO nobody writes to: a blocking open would never return
    os.link(target, tmp_path / "hard")
    for name, why in (("link", "symbolic link"), ("fifo", "not a regular file"), ("hard", "other hard links")):
        outcome: list[BaseException] = []

        def read(name=name, outcome=outcome):
            try:
                read_regular(tmp_path / name, 100)
            except BaseException as err:
                outcome.append(err)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(5)
        assert not reader.is_alive(), f"reading {name} blocked"
        assert isinstance(outcome[0], UnsafePath) and why in str(outcome[0])
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "nothing", 100)


def test_read_stops_one_byte_past_the_limit(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 1000)
    assert read_regular(tmp_path / "big", 10) == b"x" * 11
