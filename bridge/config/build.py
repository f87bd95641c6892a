"""From the raw mapping (YAML plus environment) to a `Config`: sections, gateways, secret files.

Every problem is appended to `problems` with its key path and building goes on, so one run
reports them all; with any problem the returned `Config` is a placeholder the loader discards.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge import identifiers
from bridge.config.schema import (
    CLOUD_ONLY_GATEWAY_KEYS,
    GATEWAY_KEYS,
    LOG_LEVELS,
    SECTIONS,
    TOP_KEYS,
    Config,
    GatewayConfig,
    Section,
    defaults,
    secret_fields,
)
from bridge.config.text import SECRET_MAX_BYTES, Unreadable, read_text
from bridge.config.validate import INVALID, check_gateway, check_sections, coerce, parse_host


def build(raw: dict[str, Any], problems: list[str]) -> Config:
    problems.extend(f"{key}: unknown key (expected one of {', '.join(TOP_KEYS)})" for key in raw if key not in TOP_KEYS)
    sections = {name: _build_section(name, cls, raw.get(name), problems) for name, cls in SECTIONS.items()}
    cache_dir = cache_dir_of(raw.get("cache_dir"))
    cloud_only = sections["cloud_api"].mode == "only"
    gateways = _build_gateways(raw.get("gateways"), cache_dir, problems, cloud_only)
    log_level = str(raw.get("log_level", "INFO")).upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"log_level: must be one of {', '.join(LOG_LEVELS)}")
    check_sections(sections, problems)
    if problems:
        return Config(gateways=())
    mqtt = sections["mqtt"]
    if not mqtt.instance_id:
        mqtt = replace(mqtt, instance_id=identifiers.instance_from_host(socket.gethostname()))
    if not mqtt.client_id:
        mqtt = replace(mqtt, client_id=_default_client_id(mqtt.instance_id))
    return Config(
        gateways=gateways,
        mqtt=mqtt,
        homeassistant=sections["homeassistant"],
        cloud=sections["cloud"],
        poll=sections["poll"],
        log_level=log_level,
        cache_dir=cache_dir,
        health=sections["health"],
        energy=sections["energy"],
        controls=sections["controls"],
        cloud_api=sections["cloud_api"],
        http=sections["http"],
    )


def cache_dir_of(configured: Any) -> Path:
    """`cache_dir` as configured, else $XDG_STATE_HOME/envoy-mqtt-bridge (~/.local/state/...)."""
    return Path(str(configured or _default_cache_dir())).expanduser()


def _default_cache_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(state).expanduser() / "envoy-mqtt-bridge"


def _default_client_id(instance: str) -> str:
    # The instance id plus a random suffix: two bridges with one id would knock each other off,
    # and a restarted one never takes over (and so fires the will of) a session not yet dropped.
    return f"envoy-mqtt-bridge-{instance[:20]}-{os.urandom(3).hex()}"


def _build_section(name: str, cls: type[Section], data: Any, problems: list[str]) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        problems.append(f"{name}: must be a mapping")
        return cls()
    data = _resolve_secret_files(name, data, secret_fields(cls), problems)
    return cls(**_coerced_fields(name, data, defaults(cls), problems))


def _coerced_fields(
    path: str, data: dict[str, Any], known: dict[str, Any], problems: list[str], parsed_apart: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The keys of `data` coerced to the type of their default in `known`; unknown ones reported.

    Keys in `parsed_apart` are known but left for their own parser (a gateway's `host`).
    """
    values = {}
    for key, value in data.items():
        if key not in known:
            problems.append(f"{path}.{key}: unknown key")
        elif key not in parsed_apart:
            coerced = coerce(f"{path}.{key}", value, known[key], problems)
            if coerced is not INVALID:
                values[key] = coerced
    return values


def _resolve_secret_files(path: str, data: dict[str, Any], secrets: list[str], problems: list[str]) -> dict[str, Any]:
    """`password_file: /run/secrets/x` becomes `password: <file contents, stripped>`."""
    data = dict(data)
    for key in secrets:
        file_key = f"{key}_file"
        filename = data.pop(file_key, None)
        if filename is None:
            continue
        try:
            data[key] = read_text(Path(str(filename)).expanduser(), SECRET_MAX_BYTES).strip()
        except Unreadable as err:
            problems.append(f"{path}.{file_key}: {err}")
    return data


def _build_gateways(
    data: Any, cache_dir: Path, problems: list[str], cloud_only: bool = False
) -> tuple[GatewayConfig, ...]:
    if not data:
        problems.append("gateways: at least one gateway is needed (gateways: - host: envoy.local)")
        return ()
    if not isinstance(data, list):
        problems.append("gateways: must be a list of gateways")
        return ()
    if cloud_only:
        return _cloud_only_gateway(data, problems)
    built = [_build_gateway(f"gateways[{i}]", item, cache_dir, problems) for i, item in enumerate(data)]
    return tuple(gw for gw in built if gw is not None)


def _build_gateway(path: str, data: Any, cache_dir: Path, problems: list[str]) -> GatewayConfig | None:
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping with at least `host`")
        return None
    data = _flatten_gateway(path, data, problems)
    data = _resolve_secret_files(path, data, secret_fields(GatewayConfig), problems)
    before = len(problems)
    known = {key: default for key, default in defaults(GatewayConfig).items() if key in GATEWAY_KEYS}
    values = _coerced_fields(path, data, known, problems, parsed_apart=("host",))
    values.update(parse_host(path, data.get("host"), problems))
    check_gateway(path, values, problems)
    if len(problems) > before:
        return None
    values["token_cache"], values["token_cache_previous"] = _token_cache_paths(values, cache_dir)
    values["energy_state"] = _energy_state_path(values, cache_dir)
    return GatewayConfig(**values)


def _cloud_only_gateway(data: list[Any], problems: list[str]) -> tuple[GatewayConfig, ...]:
    """`cloud_api.mode: only`: one system, named by its gateway's serial; nothing local to reach."""
    if len(data) != 1:
        problems.append("gateways: cloud_api.mode only reads one system from the cloud: list exactly one gateway")
        return ()
    item = data[0]
    if not isinstance(item, dict) or not item.get("serial"):
        problems.append("gateways[0].serial: required with cloud_api.mode only (the gateway's serial, on its label)")
        return ()
    unused = [key for key in item if key not in CLOUD_ONLY_GATEWAY_KEYS]
    problems.extend(
        f"gateways[0].{key}: not used with cloud_api.mode only (no local access); remove it, "
        "or use mode complement to read the gateway too"
        for key in unused
    )
    serial = str(item["serial"])
    if why := identifiers.serial_problem(serial):
        problems.append(f"gateways[0].serial: {identifiers.show(serial)} {why}")
    return () if unused or why else (GatewayConfig(host="", serial=serial),)


def _flatten_gateway(path: str, data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Accept `tls: {fingerprint, insecure}` and `timeouts: {connect, read}` sub-blocks."""
    data = dict(data)
    tls = data.pop("tls", None) or {}
    timeouts = data.pop("timeouts", None) or {}
    for block, mapping in (("tls", tls), ("timeouts", timeouts)):
        if not isinstance(mapping, dict):
            problems.append(f"{path}.{block}: must be a mapping")
    if isinstance(tls, dict):
        for key, value in tls.items():
            data[key if key in ("fingerprint", "insecure") else f"tls.{key}"] = value
    if isinstance(timeouts, dict):
        for key, value in timeouts.items():
            data[f"{key}_timeout" if key in ("connect", "read") else f"timeouts.{key}"] = value
    return data


def _energy_state_path(values: dict[str, Any], cache_dir: Path) -> Path:
    """The computed energy counters' file: as configured, else named like the token cache
    (the serial, else host and port); the file itself says whose counters it holds."""
    if values.get("energy_state"):
        return Path(values["energy_state"]).expanduser()
    if values.get("serial"):
        return cache_dir / f"energy-{values['serial']}.json"
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", values["host"])
    port = "" if values.get("port") is None else f"_{values['port']}"
    return cache_dir / f"energy-{host}{port}.json"


def _token_cache_paths(values: dict[str, Any], cache_dir: Path) -> tuple[Path, Path | None]:
    """The gateway's token cache, and the name it had before, when that differs.

    Named after the serial when the configuration gives it, else after the host and port:
    two gateways on one host (a port forward per gateway) each keep their own token. Before,
    the port was left out, so the old name is read once to spare a cloud login after upgrading.
    """
    if values.get("token_cache"):
        return Path(values["token_cache"]).expanduser(), None
    if values.get("serial"):
        return cache_dir / f"token-{values['serial']}.jwt", None
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", values["host"])
    if values.get("port") is None:
        return cache_dir / f"token-{host}.jwt", None
    return cache_dir / f"token-{host}_{values['port']}.jwt", cache_dir / f"token-{host}.jwt"
