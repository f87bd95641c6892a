"""Log redaction: tokens, cookies, Authorization headers, passwords and configured secrets."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from bridge.redaction import MASK, RedactingFormatter, redact, set_log_level, setup_logging

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiIxMjM0In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "text, shown",
    [
        (f"token {JWT} ok", f"token {MASK} ok"),
        ("cut eyJhbGciOiJFUzI1", f"cut {MASK}"),  # a truncated token too
        ("Cookie: sessionId=abc123; path=/", f"Cookie: {MASK}"),
        ("GET /x?sessionId=abc123&x=1", f"GET /x?sessionId={MASK}&x=1"),
        ("{'session_id': 'abc123', 'a': 1}", f"{{'session_id': '{MASK}', 'a': 1}}"),
        ("manager_token=zz99", f"manager_token={MASK}"),
        ("Authorization: Bearer abc.def", f"Authorization: {MASK}"),
        ("{'Authorization': 'Basic dXNlcjpwdw=='}", f"{{'Authorization': '{MASK}'}}"),
        (  # every field of a Digest header, the crackable response hash above all
            (
                '{\'Authorization\': \'Digest username="envoy", realm="enphaseenergy.com", nonce="5e1f", '
                'uri="/info", response="0123456789abcdef0123456789abcdef", qop=auth\'}'
            ),
            f"{{'Authorization': '{MASK}'}}",
        ),
        (
            'Authorization: Digest username="envoy", response="0123456789abcdef0123456789abcdef"',
            f"Authorization: {MASK}",
        ),
        ('digest fields: response="0123456789abcdef0123456789abcdef"', f'digest fields: response="{MASK}"'),
        ("Set-Cookie: a=1; b=2", f"Set-Cookie: {MASK}"),
        ("user[password]=hunter2&user[email]=me", f"user[password]={MASK}&user[email]=me"),
        ('{"password": "hunter2"}', f'{{"password": "{MASK}"}}'),
        ("passwd=x", f"passwd={MASK}"),
    ],
)
def test_known_secret_shapes_are_masked(text, shown):
    assert redact(text) == shown


def test_ordinary_text_is_left_alone():
    text = "MQTT: connected to 127.0.0.1:1883; 24 inverters, 3 batteries; token renewal in 12 h"
    assert redact(text) == text


def test_configured_secrets_are_masked_wherever_they_appear():
    assert redact("user me pass s3cret! at s3cret!x", ("s3cret!", "")) == f"user me pass {MASK} at {MASK}x"


def test_the_formatter_masks_the_longest_secret_whole_and_tracebacks_too():
    formatter = RedactingFormatter("%(message)s", ("abc", "abcdef", "abc"))
    assert formatter.secrets == ("abcdef", "abc")
    try:
        raise RuntimeError("failed with abcdef")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "login as %s", ("abc",), sys.exc_info())
    shown = formatter.format(record)
    assert "abc" not in shown
    assert shown.startswith(f"login as {MASK}") and f"RuntimeError: failed with {MASK}" in shown


def test_setup_logging_replaces_the_handlers_and_redacts_every_line():
    stream = io.StringIO()
    root = logging.getLogger()
    setup_logging("DEBUG", ["hunter2"], stream=stream)
    assert len(root.handlers) == 1 and root.level == logging.DEBUG
    assert logging.getLogger("urllib3").level == logging.INFO  # request lines only at INFO or above
    logging.getLogger("bridge.test").info("password is hunter2, token %s", JWT)
    line = stream.getvalue()
    assert "hunter2" not in line and "eyJ" not in line
    assert " INFO bridge.test: password is " in line
    setup_logging("WARNING", stream=stream)
    assert len(root.handlers) == 1 and logging.getLogger("urllib3").level == logging.WARNING


def test_set_log_level_changes_the_bridges_loggers_at_run_time():
    root = logging.getLogger()
    before = root.level
    try:
        set_log_level("DEBUG")
        assert root.level == logging.DEBUG and logging.getLogger("urllib3").level == logging.INFO
        set_log_level("ERROR")
        assert root.level == logging.ERROR and logging.getLogger("urllib3").level == logging.ERROR
    finally:
        root.setLevel(before)
