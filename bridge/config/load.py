"""Where the configuration comes from: an optional YAML file, then environment overrides.

`load_config(path, environ)` returns a `Config` or raises `ConfigError` listing every problem
with its key path, so the user fixes them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bridge.config.build import build, cache_dir_of
from bridge.config.schema import GATEWAY_KEYS, SECTIONS, Config, GatewayConfig, field_names, secret_file_keys
from bridge.config.text import CONFIG_MAX_BYTES, Unreadable, load_yaml, read_text
from bridge.errors import ConfigError

ENV_PREFIX = "ENVOY_BRIDGE_"


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read YAML (optional), apply environment overrides, validate everything at once."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    raw = _read_yaml(path, problems)
    if problems:  # a file that cannot be read says so alone, not with what it failed to define
        raise ConfigError(problems)
    _apply_env(raw, environ)
    config = build(raw, problems)
    if problems:
        raise ConfigError(problems)
    return config


def cache_dir_from_environ(environ: Mapping[str, str] | None = None) -> Path:
    """The cache directory when there is no configuration file to read: ENVOY_BRIDGE_CACHE_DIR,
    else the default (`health` in the Docker image, where the environment says /data)."""
    environ = os.environ if environ is None else environ
    return cache_dir_of(environ.get(_env_name("cache_dir")))


def cache_dir_from_file(path: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """The cache directory a configuration file names (ENVOY_BRIDGE_CACHE_DIR still wins), read
    without judging the rest: `health` needs no gateways, only where `run` keeps its documents."""
    problems: list[str] = []
    raw = _read_yaml(path, problems)
    if problems:
        raise ConfigError(problems)
    environ = os.environ if environ is None else environ
    return cache_dir_of(environ.get(_env_name("cache_dir")) or raw.get("cache_dir"))


def _read_yaml(path: str | Path | None, problems: list[str]) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = read_text(Path(path), CONFIG_MAX_BYTES)
    except Unreadable as err:
        problems.append(str(err))
        return {}
    try:
        data = load_yaml(text)  # safe: no !!python tags; aliases and nesting bounded
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problems.append(f"{path}:{where} invalid YAML ({getattr(err, 'problem', None) or 'syntax'})")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: the top level must be a mapping of sections")
        return {}
    return data


def _env_name(*parts: str) -> str:
    return ENV_PREFIX + "_".join(p.upper() for p in parts)


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """ENVOY_BRIDGE_<SECTION>_<KEY>, ENVOY_BRIDGE_GATEWAYS_<N>_<KEY> (GATEWAY_<KEY> = first one)."""
    for key in ("log_level", "cache_dir"):
        if _env_name(key) in environ:
            raw[key] = environ[_env_name(key)]
    for section, cls in SECTIONS.items():
        for name in field_names(cls) + secret_file_keys(cls):
            value = environ.get(_env_name(section, name))
            if value is not None:
                if not isinstance(raw.get(section), dict):
                    raw[section] = {}
                raw[section][name] = value
    _apply_gateway_env(raw, environ)


def _apply_gateway_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    gateways = raw.get("gateways")
    if gateways is None:
        gateways = []
    if not isinstance(gateways, list):
        return  # reported by validation
    keys = GATEWAY_KEYS + tuple(secret_file_keys(GatewayConfig))
    for index in range(len(gateways) + 1):
        prefixes = [("GATEWAYS", str(index))] + ([("GATEWAY",)] if index == 0 else [])
        for key in keys:
            for prefix in prefixes:
                value = environ.get(_env_name(*prefix, key))
                if value is None:
                    continue
                while len(gateways) <= index:
                    gateways.append({})
                if isinstance(gateways[index], dict):
                    gateways[index][key] = value
    if gateways:
        raw["gateways"] = gateways
