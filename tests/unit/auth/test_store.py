"""bridge.auth.store: the token cache, 0600 in a 0700 directory, replaced atomically, never crashing."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from bridge.auth.store import TokenStore
from bridge.auth.tokens import DAY_S
from tests.support.tokens import make_token


def test_save_creates_0700_dir_and_0600_file_with_the_jwt_only(tmp_path):
    store = TokenStore(tmp_path / "cache" / "token")
    token = make_token(DAY_S)
    assert store.save(token)
    assert stat.S_IMODE(os.stat(tmp_path / "cache").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.path.read_text() == token
    assert store.load() == token
    assert os.listdir(tmp_path / "cache") == ["token"]  # no temp files left behind


def test_save_replaces_atomically_and_keeps_old_cache_on_crash(tmp_path, monkeypatch, caplog):
    store = TokenStore(tmp_path / "token")
    old, new = make_token(DAY_S), make_token(2 * DAY_S)
    store.save(old)

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with caplog.at_level(logging.WARNING):
        assert store.save(new) is False
    assert store.path.read_text() == old
    assert os.listdir(tmp_path) == ["token"]
    assert "keeping the token in memory" in caplog.text


def test_missing_cache_is_none(tmp_path):
    assert TokenStore(tmp_path / "nothing").load() is None


@pytest.mark.parametrize("content", [b"garbage\n", b"\xff\xfe\x00", b"x" * 70000, b""])
def test_corrupt_cache_warns_and_returns_none(tmp_path, caplog, content):
    path = tmp_path / "token"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with caplog.at_level(logging.WARNING):
        assert TokenStore(path).load() is None
    assert "does not hold a readable token" in caplog.text


def test_loose_permissions_are_fixed_to_0600(tmp_path, caplog):
    path = tmp_path / "token"
    token = make_token(DAY_S)
    path.write_text(token)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        assert TokenStore(path).load() == token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "changed it to 0600" in caplog.text and token not in caplog.text


def test_unreadable_cache_warns(tmp_path, caplog):
    (tmp_path / "token").mkdir()  # reading a directory fails even for root
    with caplog.at_level(logging.WARNING):
        assert TokenStore(tmp_path / "token").load() is None
    assert "unreadable" in caplog.text


def test_unwritable_dir_warns_and_does_not_crash(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the cache directory should be: fails even for root
    with caplog.at_level(logging.WARNING):
        assert TokenStore(blocker / "sub" / "token").save(make_token(DAY_S)) is False
    assert "keeping the token in memory" in caplog.text
