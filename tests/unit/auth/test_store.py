"""bridge.auth.store: the token cache, 0600 in a 0700 directory, replaced atomically, never crashing."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from bridge.auth.store import TokenMeta, TokenStore
from bridge.auth.tokens import DAY_S, decode_token
from tests.support.tokens import NOW, make_token


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

    def crash(*args, **kwargs):
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


def test_h11_10_the_cache_under_its_old_name_is_read_once_and_copied(tmp_path, caplog):
    token = make_token(DAY_S)
    old = tmp_path / "token-192.168.1.5.jwt"
    TokenStore(old).save(token)
    store = TokenStore(tmp_path / "token-192.168.1.5_8443.jwt", previous=old)
    with caplog.at_level(logging.INFO):
        assert store.load() == token
    assert store.path.read_text() == token and stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert [r.getMessage() for r in caplog.records] == [f"token cache {old} copied to {store.path}, its new name"]
    newer = make_token(2 * DAY_S)
    store.save(newer)
    assert store.load() == newer  # the new name wins from now on; the old one is not read again
    assert old.read_text() == token  # left for a second gateway of the same host


def test_h11_10_without_an_old_cache_nothing_is_copied(tmp_path):
    store = TokenStore(tmp_path / "token-host_8443.jwt", previous=tmp_path / "token-host.jwt")
    assert store.load() is None and not store.path.exists()


def test_h11_8_save_replaces_a_symlink_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("root:x:0:0")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "token").symlink_to(victim)
    token = make_token(DAY_S)
    assert TokenStore(cache / "token").save(token)
    assert victim.read_text() == "root:x:0:0"
    assert not (cache / "token").is_symlink() and (cache / "token").read_text() == token


def test_h11_8_load_never_follows_a_symlink(tmp_path, caplog):
    real = tmp_path / "real"
    TokenStore(real).save(make_token(DAY_S))
    (tmp_path / "token").symlink_to(real)
    with caplog.at_level(logging.WARNING):
        assert TokenStore(tmp_path / "token").load() is None
    assert "is a symbolic link; not following it" in caplog.text


def test_h11_8_a_directory_others_may_write_to_keeps_the_token_in_memory(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with caplog.at_level(logging.WARNING):
        assert TokenStore(shared / "token").save(make_token(DAY_S)) is False
    assert os.listdir(shared) == [] and stat.S_IMODE(os.stat(shared).st_mode) == 0o777
    assert "writable by other users (mode 0777)" in caplog.text and "keeping the token in memory" in caplog.text


# --- the metadata beside the cache: which flow made the token, and when -----------------------------


def meta_for(token, flow="enlighten_get", obtained_at=NOW):
    info = decode_token(token)
    return TokenMeta(flow, obtained_at, info.user_type, info.expires_at)


def test_metadata_is_written_beside_the_cache_0600_and_read_back(tmp_path):
    store = TokenStore(tmp_path / "cache" / "token-1.jwt")
    token = make_token(DAY_S)
    assert store.save(token, meta_for(token))
    assert store.meta_path == tmp_path / "cache" / "token-1.jwt.meta.json"
    assert stat.S_IMODE(os.stat(store.meta_path).st_mode) == 0o600
    assert json.loads(store.meta_path.read_text()) == {
        "flow": "enlighten_get",
        "obtained_at": NOW,
        "user_type": "owner",
        "expires_at": decode_token(token).expires_at,
    }
    assert store.path.read_text() == token  # the JWT file keeps its format
    assert store.load_meta() == meta_for(token)
    assert sorted(os.listdir(tmp_path / "cache")) == ["token-1.jwt", "token-1.jwt.meta.json"]


def test_metadata_describes_only_its_own_token(tmp_path):
    token, other = make_token(DAY_S), make_token(2 * DAY_S)
    meta = meta_for(token)
    assert meta.describes(decode_token(token)) and not meta.describes(decode_token(other))


def test_a_save_without_metadata_leaves_the_metadata_file_alone(tmp_path):
    store = TokenStore(tmp_path / "token")
    store.save(make_token(DAY_S))
    assert store.load_meta() is None and not store.meta_path.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"flow": "carrier-pigeon", "obtained_at": 1, "user_type": null, "expires_at": 2}',
        b'{"flow": "entrez_json", "obtained_at": "yesterday", "user_type": null, "expires_at": 2}',
        b'{"flow": "entrez_json", "obtained_at": 1e999, "user_type": null, "expires_at": 2}',
        b'{"flow": "entrez_json", "obtained_at": 1, "user_type": 5, "expires_at": 2}',
        b'{"flow": "entrez_json", "obtained_at": 1, "user_type": null, "expires_at": 1' + b"0" * 400 + b"}",
        b"\xff\xfe",
        b" " * 5000,
    ],
)
def test_corrupt_metadata_is_ignored_with_one_warning(tmp_path, caplog, content):
    store = TokenStore(tmp_path / "token")
    store.meta_path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert store.load_meta() is None
    assert [r.getMessage() for r in caplog.records] == [
        f"token metadata {store.meta_path} is not readable metadata; ignoring it"
    ]


def test_metadata_through_a_symlink_is_not_read(tmp_path, caplog):
    store = TokenStore(tmp_path / "token")
    real = tmp_path / "elsewhere.json"
    real.write_text('{"flow": "entrez_json", "obtained_at": 1, "user_type": null, "expires_at": 2}')
    store.meta_path.symlink_to(real)
    with caplog.at_level(logging.WARNING):
        assert store.load_meta() is None
    assert "is a symbolic link" in caplog.text


def test_unwritable_metadata_keeps_the_token_and_warns(tmp_path, caplog):
    store = TokenStore(tmp_path / "token")
    store.meta_path.mkdir()  # a directory where the metadata goes: the rename fails, even for root
    token = make_token(DAY_S)
    with caplog.at_level(logging.WARNING):
        assert store.save(token, meta_for(token))
    assert store.load() == token and "the token flow is not remembered" in caplog.text
