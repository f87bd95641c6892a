"""bridge.config.text: configuration and secret files as bounded UTF-8; YAML with bounded aliases
and nesting (issue 11, findings 12 and 13)."""

from __future__ import annotations

import itertools
import time
import tracemalloc

import pytest

from bridge.config.text import MAX_DEPTH, MAX_VALUES, Unreadable, load_yaml, read_text
from tests.unit.config.conftest import MINIMAL


def alias_bomb(levels: int = 9, width: int = 9, key: str = "log_level") -> str:
    """The "billion laughs": each level an anchored list of `width` aliases of the level below;
    `key` gets the top one, so whatever reads `key` sees width ** levels strings."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"{names[0]}: &{names[0]} [" + ",".join(['"lol"'] * width) + "]"]
    for below, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * width) + "]")
    lines.append(f"{key}: *{names[levels - 1]}")
    return MINIMAL + "\n".join(lines) + "\n"


def test_h11_13_an_alias_bomb_is_refused_fast_and_small(problems):
    text = alias_bomb()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        found = problems(text)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(found) == 1 and found[0].endswith(
        f"invalid YAML (more than {MAX_VALUES} values, counting what each alias repeats)"
    )
    assert seconds < 1.0 and peak < 20 * 1024 * 1024
    print(f"\nh11_13 alias bomb of {len(text)} bytes: refused in {seconds * 1000:.0f} ms, peak {peak / 1e6:.1f} MB")


def test_h11_13_nesting_past_the_depth_is_refused_without_a_recursion_error(problems):
    found = problems(MINIMAL + "log_level: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert len(found) == 1 and found[0].endswith(f"line 4 invalid YAML (nested deeper than {MAX_DEPTH} levels)")


def test_ordinary_anchors_and_merge_keys_still_work(load):
    config = load(
        "gateways:\n"
        "  - &gw {host: a.local, tls: {insecure: true}, timeouts: {read: 20}}\n"
        "  - {<<: *gw, host: b.local}\n"
    )
    assert [gw.host for gw in config.gateways] == ["a.local", "b.local"]
    assert config.gateways[1].read_timeout == 20.0


def test_a_document_just_under_the_bounds_loads():
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert len(load_yaml("[" + ",".join(["1"] * (MAX_VALUES - 1)) + "]")) == MAX_VALUES - 1


def test_h11_12_a_config_file_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    from bridge.config import load_config
    from bridge.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_bytes(MINIMAL.encode() + b"mqtt: {host: caf\xe9}\n")  # Latin-1, as an old editor saves it
    with pytest.raises(ConfigError) as err:
        load_config(path, {})
    assert err.value.problems == [f"{path}: not UTF-8 text (byte 0xe9 at offset {len(MINIMAL) + 16})"]


def test_h11_12_a_secret_file_that_is_not_utf8_names_its_key_and_file_never_its_bytes(problems, tmp_path):
    secret = tmp_path / "pw"
    secret.write_bytes(b"hunter\xff2")
    found = problems(MINIMAL + f"    username: u\n    password_file: {secret}\n")
    assert found == [f"gateways[0].password_file: {secret}: not UTF-8 text (byte 0xff at offset 6)"]
    assert "hunter" not in found[0]


def test_a_file_far_too_big_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(Unreadable, match="larger than 1 KiB"):
        read_text(path, 1024)
    assert read_text(path, 4096) == "x" * 2000
