"""check-config's view of the effective configuration: plain data, every secret masked."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from bridge.config.schema import SECTIONS, Config

MASK = "********"


def describe(config: Config) -> dict[str, Any]:
    """The effective configuration as plain data, secrets masked: for `check-config`."""
    result: dict[str, Any] = {
        "gateways": [_section(gw) for gw in config.gateways],
        "log_level": config.log_level,
        "cache_dir": str(config.cache_dir),
    }
    for name in SECTIONS:
        result[name] = _section(getattr(config, name))
    return result


def _section(obj: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if not f.repr and value:  # a secret
            value = MASK
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):  # YAML has lists, not tuples
            value = list(value)
        out[f.name] = value
    return out
