"""Configuration: frozen dataclasses, loaded from YAML with environment overrides.

`load_config(path, environ)` returns a `Config` or raises `ConfigError` listing every problem
with its key path. Secrets are `repr=False` so they never reach logs or tracebacks.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bridge.errors import ConfigError

ENV_PREFIX = "ENVOY_BRIDGE_"
ENLIGHTEN_URL = "https://enlighten.enphaseenergy.com"
ENTREZ_URL = "https://entrez.enphaseenergy.com"
# The gateway is a small device that users have frozen by polling too hard; below this the
# bridge refuses rather than hurting it (Home Assistant polls every 60 s).
MIN_POLL_INTERVAL_S = 5.0
# Except the grid group: it reads only the relay (187 bytes, answered in 0.03-0.35 s), and only
# on gateways with an IQ System Controller or Collar, so an outage reaches the broker in < 2 s.
MIN_GRID_POLL_S = 1.0
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class PollIntervals:
    """Seconds between two polls of each group (see bridge/endpoints.py for what each reads)."""

    meters: float = 10.0
    grid: float = 1.0
    energy: float = 60.0
    inverters: float = 300.0
    batteries: float = 60.0
    info: float = 3600.0


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    host: str
    scheme: str | None = None  # None: https for firmware 7+, probe http for older ones
    port: int | None = None
    serial: str | None = None  # None: read from /info
    username: str | None = None  # Enlighten e-mail (firmware 7+) or digest user (older)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # a pasted JWT wins over the cloud
    token_cache: Path | None = None
    fingerprint: str | None = None  # sha256 of the gateway certificate, lower-case hex
    insecure: bool = False  # explicit opt-out of certificate checks
    connect_timeout: float = 10.0
    read_timeout: float = 45.0  # the Envoy is fast to connect but slow to answer

    @property
    def label(self) -> str:
        """How logs name this gateway: never a secret."""
        return self.serial or self.host


@dataclass(frozen=True, slots=True)
class CloudConfig:
    enlighten_url: str = ENLIGHTEN_URL
    entrez_url: str = ENTREZ_URL
    ca_file: str | None = None  # extra CA to trust for the cloud (tests, proxies); never disables checks
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class MqttConfig:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    client_id: str = ""
    base_topic: str = "envoy"
    qos: int = 1
    keepalive: int = 60
    max_queued_messages: int = 10000  # bounds memory while the broker is away
    republish_interval: float = 300.0  # unchanged values are sent again this often


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    discovery: bool = True
    prefix: str = "homeassistant"
    birth_topic: str = "homeassistant/status"
    # Seconds after which Home Assistant marks an entity unavailable when no message arrived:
    # "auto" = max(3 x the entity's poll interval, mqtt.republish_interval + a margin),
    # 0 = never, a number = that many seconds for every entity.
    expire_after: str = "auto"

    @property
    def expire_after_s(self) -> float | None:
        """None for "auto", else the configured seconds (0 = disabled)."""
        return None if self.expire_after == "auto" else float(self.expire_after)


@dataclass(frozen=True, slots=True)
class Config:
    gateways: tuple[GatewayConfig, ...]
    mqtt: MqttConfig = MqttConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    cloud: CloudConfig = CloudConfig()
    poll: PollIntervals = PollIntervals()
    log_level: str = "INFO"
    cache_dir: Path = Path("~/.local/state/envoy-mqtt-bridge").expanduser()

    @property
    def health_file(self) -> Path:
        """Touched while the bridge runs and reaches its broker; read by `health` (Docker)."""
        return self.cache_dir / "health"

    def secrets(self) -> list[str]:
        """Every configured secret, for the log redaction filter."""
        values = [self.mqtt.password]
        for gw in self.gateways:
            values += [gw.password, gw.token]
        return [v for v in values if v]


# --- loading -------------------------------------------------------------------------------

# Keys that hold secrets: each may also come from `<key>_file` (YAML) or `..._FILE` (env).
SECRET_KEYS = ("password", "token")
GATEWAY_KEYS = (
    "host",
    "serial",
    "username",
    "password",
    "token",
    "token_cache",
    "fingerprint",
    "insecure",
    "connect_timeout",
    "read_timeout",
)
SECTIONS = {"mqtt": MqttConfig, "homeassistant": HomeAssistantConfig, "cloud": CloudConfig, "poll": PollIntervals}
TOP_KEYS = ("gateways", "log_level", "cache_dir", *SECTIONS)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read YAML (optional), apply environment overrides, validate everything at once."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    raw = _read_yaml(path, problems)
    _apply_env(raw, environ)
    config = _build(raw, problems)
    if problems:
        raise ConfigError(problems)
    return config


def _read_yaml(path, problems: list[str]) -> dict:
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        problems.append(f"{path}: cannot read ({err.strerror})")
        return {}
    try:
        data = yaml.safe_load(text)  # safe_load: no !!python tags
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


def _apply_env(raw: dict, environ: Mapping[str, str]) -> None:
    """ENVOY_BRIDGE_<SECTION>_<KEY>, ENVOY_BRIDGE_GATEWAYS_<N>_<KEY> (GATEWAY_<KEY> = first one)."""
    for key in ("log_level", "cache_dir"):
        if _env_name(key) in environ:
            raw[key] = environ[_env_name(key)]
    for section, cls in SECTIONS.items():
        for name in _field_names(cls) + _file_keys(cls):
            value = environ.get(_env_name(section, name))
            if value is not None:
                if not isinstance(raw.get(section), dict):
                    raw[section] = {}
                raw[section][name] = value
    _apply_gateway_env(raw, environ)


def _apply_gateway_env(raw: dict, environ: Mapping[str, str]) -> None:
    gateways = raw.get("gateways")
    if gateways is None:
        gateways = []
    if not isinstance(gateways, list):
        return  # reported by validation
    keys = GATEWAY_KEYS + tuple(f"{k}_file" for k in SECRET_KEYS)
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


def _field_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _defaults(cls) -> dict:
    return {f.name: f.default for f in fields(cls)}


def _file_keys(cls) -> list[str]:
    return [f"{k}_file" for k in SECRET_KEYS if k in _field_names(cls)]


def _build(raw: dict, problems: list[str]) -> Config:
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown key (expected one of {', '.join(TOP_KEYS)})")
    sections = {name: _build_section(name, cls, raw.get(name), problems) for name, cls in SECTIONS.items()}
    cache_dir = Path(str(raw.get("cache_dir") or _default_cache_dir())).expanduser()
    gateways = _build_gateways(raw.get("gateways"), cache_dir, problems)
    log_level = str(raw.get("log_level", "INFO")).upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"log_level: must be one of {', '.join(LOG_LEVELS)}")
    _check_sections(sections, problems)
    if problems:
        return Config(gateways=())
    mqtt = sections["mqtt"]
    if not mqtt.client_id:
        mqtt = replace(mqtt, client_id=_default_client_id())
    return Config(
        gateways=gateways,
        mqtt=mqtt,
        homeassistant=sections["homeassistant"],
        cloud=sections["cloud"],
        poll=sections["poll"],
        log_level=log_level,
        cache_dir=cache_dir,
    )


def _default_cache_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(state).expanduser() / "envoy-mqtt-bridge"


def _default_client_id() -> str:
    # Host name plus a random suffix: two bridges with one id would knock each other off.
    suffix = os.urandom(3).hex()
    host = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:20] or "host"
    return f"envoy-mqtt-bridge-{host}-{suffix}"


def _build_section(name: str, cls, data, problems: list[str]):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        problems.append(f"{name}: must be a mapping")
        return cls()
    data = _resolve_secret_files(name, data, problems)
    defaults = _defaults(cls)
    values = {}
    for key, value in data.items():
        if key not in defaults:
            problems.append(f"{name}.{key}: unknown key")
            continue
        coerced = _coerce(f"{name}.{key}", value, defaults[key], problems)
        if coerced is not _INVALID:
            values[key] = coerced
    return cls(**values)


_INVALID = object()


def _coerce(path: str, value: Any, default: Any, problems: list[str]) -> Any:
    """Coerce a YAML or environment value to the type of the field's default."""
    kind = type(default)
    if value is None:
        return None if default is None else default
    if kind is bool:
        return _to_bool(path, value, problems)
    if kind in (int, float):
        return _to_number(path, value, kind, problems)
    if isinstance(value, (dict, list)):
        problems.append(f"{path}: must be a single value, not a {type(value).__name__}")
        return _INVALID
    return str(value)


def _to_bool(path: str, value: Any, problems: list[str]):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    problems.append(f"{path}: must be true or false, got {_show(value)}")
    return _INVALID


def _to_number(path: str, value: Any, kind, problems: list[str]):
    if isinstance(value, bool):
        problems.append(f"{path}: must be a number, got {_show(value)}")
        return _INVALID
    try:
        number = kind(float(value)) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        problems.append(f"{path}: must be {'an integer' if kind is int else 'a number'}, got {_show(value)}")
        return _INVALID
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        problems.append(f"{path}: must be a finite, non-negative number")
        return _INVALID
    return number


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _resolve_secret_files(path: str, data: dict, problems: list[str]) -> dict:
    """`password_file: /run/secrets/x` becomes `password: <file contents, stripped>`."""
    data = dict(data)
    for key in SECRET_KEYS:
        file_key = f"{key}_file"
        filename = data.pop(file_key, None)
        if filename is None:
            continue
        try:
            data[key] = Path(str(filename)).expanduser().read_text(encoding="utf-8").strip()
        except OSError as err:
            problems.append(f"{path}.{file_key}: cannot read {filename} ({err.strerror})")
    return data


def _check_sections(sections: dict, problems: list[str]) -> None:
    mqtt = sections["mqtt"]
    if not 0 < mqtt.port < 65536:
        problems.append("mqtt.port: must be between 1 and 65535")
    if mqtt.qos not in (0, 1, 2):
        problems.append("mqtt.qos: must be 0, 1 or 2")
    if not mqtt.base_topic or any(c in mqtt.base_topic for c in "#+") or mqtt.base_topic.startswith("/"):
        problems.append("mqtt.base_topic: must be a plain topic without wildcards or a leading '/'")
    if (mqtt.certfile is None) != (mqtt.keyfile is None):
        problems.append("mqtt.certfile, mqtt.keyfile: a client certificate needs both")
    expire = sections["homeassistant"].expire_after
    if expire != "auto":
        try:
            valid = float(expire) >= 0
        except ValueError:
            valid = False
        if not valid:
            problems.append("homeassistant.expire_after: must be auto, 0 (never) or a number of seconds")
    for name in _field_names(PollIntervals):
        floor = MIN_GRID_POLL_S if name == "grid" else MIN_POLL_INTERVAL_S
        if getattr(sections["poll"], name) < floor:
            problems.append(f"poll.{name}: at least {floor:g} s; the gateway freezes when polled harder")


def _build_gateways(data, cache_dir: Path, problems: list[str]) -> tuple[GatewayConfig, ...]:
    if not data:
        problems.append("gateways: at least one gateway is needed (gateways: - host: envoy.local)")
        return ()
    if not isinstance(data, list):
        problems.append("gateways: must be a list of gateways")
        return ()
    built = [_build_gateway(f"gateways[{i}]", item, cache_dir, problems) for i, item in enumerate(data)]
    return tuple(gw for gw in built if gw is not None)


def _build_gateway(path: str, data, cache_dir: Path, problems: list[str]) -> GatewayConfig | None:
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping with at least `host`")
        return None
    data = _flatten_gateway(path, data, problems)
    data = _resolve_secret_files(path, data, problems)
    before = len(problems)
    values = {}
    for key, value in data.items():
        if key not in GATEWAY_KEYS:
            problems.append(f"{path}.{key}: unknown key")
        elif key != "host":
            coerced = _coerce(f"{path}.{key}", value, _defaults(GatewayConfig)[key], problems)
            if coerced is not _INVALID:
                values[key] = coerced
    values.update(_parse_host(path, data.get("host"), problems))
    _check_gateway(path, values, problems)
    if len(problems) > before:
        return None
    values["token_cache"] = _token_cache_path(values, cache_dir)
    return GatewayConfig(**values)


def _flatten_gateway(path: str, data: dict, problems: list[str]) -> dict:
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


def _parse_host(path: str, host, problems: list[str]) -> dict:
    if not host or not isinstance(host, str):
        problems.append(f"{path}.host: required (a name or address, optionally https://host:port)")
        return {"host": ""}
    text = host.strip()
    parsed = urlsplit(text if "://" in text else f"//{text}")
    scheme = parsed.scheme.lower() or None
    try:
        port = parsed.port
    except ValueError:
        problems.append(f"{path}.host: invalid port in {host!r}")
        return {"host": ""}
    if scheme not in (None, "http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
        problems.append(f"{path}.host: expected host, host:port or http(s)://host[:port], got {host!r}")
        return {"host": ""}
    return {"host": parsed.hostname, "scheme": scheme, "port": port}


def _check_gateway(path: str, values: dict, problems: list[str]) -> None:
    fingerprint = values.get("fingerprint")
    if fingerprint:
        normalized = fingerprint.replace(":", "").strip().lower()
        if not FINGERPRINT_RE.match(normalized):
            problems.append(f"{path}.tls.fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons allowed)")
        values["fingerprint"] = normalized
    if fingerprint and values.get("insecure"):
        problems.append(f"{path}.tls: set either fingerprint or insecure, not both")
    if values.get("scheme") != "http" and not fingerprint and not values.get("insecure"):
        problems.append(
            f"{path}.tls: the gateway's certificate is self-signed, so say how to trust it: "
            "`fingerprint: <sha256>` (print it with `envoy-mqtt-bridge fingerprint HOST`) "
            "or `insecure: true` to skip the check"
        )
    if values.get("token") and values["token"].count(".") != 2:
        problems.append(f"{path}.token: not a JWT (expected three dot-separated parts)")
    if values.get("password") and not values.get("username"):
        problems.append(f"{path}.username: required with password")
    if values.get("serial") is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", values["serial"]):
        problems.append(f"{path}.serial: letters, digits, '-' and '_' only")


def _token_cache_path(values: dict, cache_dir: Path) -> Path:
    if values.get("token_cache"):
        return Path(values["token_cache"]).expanduser()
    label = values.get("serial") or re.sub(r"[^A-Za-z0-9_.-]", "_", values["host"])
    return cache_dir / f"token-{label}.jwt"


def describe(config: Config) -> dict:
    """The effective configuration as plain data, secrets masked: for `check-config`."""

    def section(obj) -> dict:
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name in SECRET_KEYS and value:
                value = "********"
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out

    result = {
        "gateways": [section(gw) for gw in config.gateways],
        "log_level": config.log_level,
        "cache_dir": str(config.cache_dir),
    }
    for name in SECTIONS:
        result[name] = section(getattr(config, name))
    return result
