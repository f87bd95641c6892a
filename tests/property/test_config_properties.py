"""The config loader over random YAML-ish mappings (hypothesis): a Config, or a ConfigError
whose every problem starts with the key path it is about (or the file's name), never another
exception; and a secret never shows in a problem. The identifier rule's own properties (serials,
topics, prefixes) are tests/unit/test_identifiers_properties.py: not repeated here."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from bridge.config import Config, load_config
from bridge.config.schema import GATEWAY_KEYS, SECRET_KEYS, SECTIONS, TOP_KEYS, field_names
from bridge.errors import ConfigError
from tests.property.strategies import SETTINGS

pytestmark = pytest.mark.property
SECRET = "Sekr1t-do-not-show"  # every password and token drawn is this, so a leak is easy to see
FOLDER = Path(tempfile.mkdtemp(prefix="config-properties-"))  # cache_dir: never a random path
CONFIG = FOLDER / "config.yaml"

VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.sampled_from([0, 1, 5, 60, 10**30, 2**63]),
        st.floats(),
        st.text(max_size=16),
        st.sampled_from(["", "auto", "yes", "off", "1e309", "https://envoy.local", "DEBUG", "ha/#", "envoy/+"]),
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
HOSTS = st.one_of(
    st.sampled_from(["envoy.local", "192.168.1.20", "https://envoy.local:8443", "http://10.0.0.2", "[::1]:443", ""]),
    VALUES,
)


def section(keys: list[str]):
    known = st.dictionaries(st.sampled_from(keys), VALUES, max_size=len(keys))
    return st.one_of(known, known, st.dictionaries(st.text(max_size=6), VALUES, max_size=2), VALUES)


def _with_secrets(mapping):
    if isinstance(mapping, dict):
        for key in SECRET_KEYS:
            if key in mapping:
                mapping[key] = SECRET
    return mapping


GATEWAY = st.fixed_dictionaries(
    {"host": HOSTS},
    optional={
        **{key: VALUES for key in GATEWAY_KEYS if key not in ("host", "token_cache")},
        "password": st.just(SECRET),
        "tls": st.one_of(st.dictionaries(st.sampled_from(["fingerprint", "insecure", "x"]), VALUES), VALUES),
        "timeouts": st.one_of(st.dictionaries(st.sampled_from(["connect", "read", "x"]), VALUES), VALUES),
    },
)
RAW = st.fixed_dictionaries(
    {},
    optional={
        "gateways": st.one_of(st.lists(GATEWAY, min_size=1, max_size=3), st.lists(GATEWAY, max_size=2), VALUES),
        "log_level": VALUES,
        **{
            name: section([*field_names(cls), *(f"{k}_file" for k in SECRET_KEYS)]).map(_with_secrets)
            for name, cls in SECTIONS.items()
        },
        "unknown_section": VALUES,
    },
)


def about_a_key(problem: str, raw: dict) -> bool:
    """The problem starts with a key path (a key of the file, `gateways[n]...`) or the file's name."""
    if problem.startswith(str(CONFIG)):
        return True
    head = re.split(r"[.:\[]", problem, maxsplit=1)[0]
    return head in TOP_KEYS or head in {str(key) for key in raw}


@SETTINGS
@given(RAW)
def test_any_mapping_gives_a_config_or_every_problem_with_its_key_path(raw):
    raw = {**raw, "cache_dir": str(FOLDER)}
    CONFIG.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    config, error = _loaded()
    event("a Config" if error is None else "a ConfigError")
    if error is None:
        assert isinstance(config, Config) and config.gateways
        assert SECRET not in repr(config)
        return
    assert error.problems and all(isinstance(p, str) and p for p in error.problems)
    for problem in error.problems:
        assert about_a_key(problem, raw), problem
        assert SECRET not in problem, problem
    assert SECRET not in str(error)


def _loaded() -> tuple[Config | None, ConfigError | None]:
    try:
        return load_config(CONFIG, environ={}), None
    except ConfigError as err:
        return None, err
