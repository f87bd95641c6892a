"""The tokens file: 0600, atomic, tolerant when read; the tokens join the log redaction."""

from __future__ import annotations

import io
import logging
import stat

from bridge.cloudapi.tokens import TokenFile
from bridge.redaction import setup_logging
from tests.support.clock import FakeClock
from tests.unit.cloudapi.helpers import tokens


def test_saved_0600_and_read_back(tmp_path):
    file = TokenFile(tmp_path / "cache" / "cloud-api-tokens.json")
    saved = tokens(FakeClock())
    assert file.save(saved)
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.path.parent.stat().st_mode) == 0o700
    assert file.load() == saved


def test_a_file_that_is_not_ours_is_ignored_with_a_warning(tmp_path, caplog):
    path = tmp_path / "cloud-api-tokens.json"
    for text in (
        "{",
        '{"access_token": "a"}',
        "[]",
        '{"access_token": "a", "refresh_token": "b", "access_expires_at": 1e999, "refresh_expires_at": 1}',
    ):
        path.write_text(text)
        with caplog.at_level(logging.WARNING, "bridge.cloudapi"):
            assert TokenFile(path, own_dir=False).load() is None
    assert len(caplog.records) == 4 and all("not a tokens file" in r.getMessage() for r in caplog.records)


def test_a_symlink_is_never_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "cloud-api-tokens.json").symlink_to(target)
    assert TokenFile(tmp_path / "cloud-api-tokens.json", own_dir=False).load() is None
    assert TokenFile(tmp_path / "cloud-api-tokens.json", own_dir=False).save(tokens(FakeClock()))
    assert target.read_text() == "keep"


def test_tokens_read_or_made_are_masked_in_every_log(tmp_path):
    stream = io.StringIO()
    setup_logging("INFO", (), stream)
    try:
        file = TokenFile(tmp_path / "cloud-api-tokens.json", own_dir=False)
        file.save(tokens(FakeClock(), n=7))
        logging.getLogger("test").info("sent access-7-abcdefgh and refresh-7-abcdefgh")
    finally:
        logging.getLogger().handlers.clear()
    assert "abcdefgh" not in stream.getvalue() and "********" in stream.getvalue()
