"""Coercion and checks: each function appends "key.path: reason" to `problems` and goes on.

Nothing here raises: the loader collects every problem first, so the user fixes them all at
once. A value that cannot be coerced comes back as `INVALID` and is left out.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from bridge import identifiers
from bridge.config.schema import (
    FINGERPRINT_RE,
    LIVE_AUTO,
    MIN_GRID_POLL_S,
    MIN_LIVE_POLL_S,
    MIN_POLL_INTERVAL_S,
    TOKEN_FLOWS,
    CloudApiConfig,
    CloudConfig,
    ControlsConfig,
    EnergyConfig,
    PollIntervals,
    field_names,
)
from bridge.config.validate_cloud_api import CLOUD_API_URL_KEYS, check_cloud_api
from bridge.config.validate_http import check_http, is_loopback

INVALID = object()
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
MIN_SAVE_INTERVAL_S = 1.0  # the state file is fsynced: not more than once a second
MIN_CONTROL_INTERVAL_S = 1.0  # one write or read-back of one control a second at most


def coerce(path: str, value: Any, default: Any, problems: list[str]) -> Any:
    """Coerce a YAML or environment value to the type of the field's default."""
    kind = type(default)
    if value is None:
        return None if default is None else default
    if kind is bool:
        return _to_bool(path, value, problems)
    if kind in (int, float):
        return _to_number(path, value, kind, problems)
    if kind is tuple:
        return _to_names(path, value, problems)
    if isinstance(value, (dict, list)):
        problems.append(f"{path}: must be a single value, not a {type(value).__name__}")
        return INVALID
    return str(value)


def _to_bool(path: str, value: Any, problems: list[str]) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    problems.append(f"{path}: must be true or false, got {_show(value)}")
    return INVALID


def _to_number(path: str, value: Any, kind: type, problems: list[str]) -> Any:
    if isinstance(value, bool):
        problems.append(f"{path}: must be a number, got {_show(value)}")
        return INVALID
    try:
        number = float(value) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        problems.append(f"{path}: must be {'an integer' if kind is int else 'a number'}, got {_show(value)}")
        return INVALID
    if number != number or number in (math.inf, -math.inf) or number < 0:  # NaN, infinities
        problems.append(f"{path}: must be a finite, non-negative number")
        return INVALID
    return number


def _to_names(path: str, value: Any, problems: list[str]) -> Any:
    """A list of names: a YAML list, or one comma-separated string (the environment's only form)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        problems.append(f"{path}: must be a list of names (or one comma-separated string), got {_show(value)}")
        return INVALID
    return tuple(item.strip() for item in items if item.strip())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_host(path: str, host: Any, problems: list[str]) -> dict[str, Any]:
    """`host`, `host:port` or `http(s)://host[:port]` -> host, scheme and port."""
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


def check_sections(sections: dict[str, Any], problems: list[str]) -> None:
    """Checks across the fields of the mqtt, homeassistant and poll sections."""
    mqtt = sections["mqtt"]
    if not 0 < mqtt.port < 65536:
        problems.append("mqtt.port: must be between 1 and 65535")
    if mqtt.qos not in (0, 1, 2):
        problems.append("mqtt.qos: must be 0, 1 or 2")
    check_topic_prefixes(sections, problems)
    if mqtt.instance_id and (why := identifiers.id_problem(mqtt.instance_id)):
        problems.append(f"mqtt.instance_id: {identifiers.show(mqtt.instance_id)} {why}")
    elif mqtt.instance_id in identifiers.RESERVED_INSTANCES:
        problems.append(f"mqtt.instance_id: {mqtt.instance_id!r} names the shared request topics; choose another")
    if (mqtt.certfile is None) != (mqtt.keyfile is None):
        problems.append("mqtt.certfile, mqtt.keyfile: a client certificate needs both")
    check_cloud_urls(sections["cloud"], problems)
    check_token_flows(sections["cloud"], problems)
    if not _valid_expire_after(sections["homeassistant"].expire_after):
        problems.append("homeassistant.expire_after: must be auto, 0 (never) or a number of seconds")
    for name in field_names(PollIntervals):
        floor = MIN_GRID_POLL_S if name == "grid" else MIN_POLL_INTERVAL_S
        if name != "live" and getattr(sections["poll"], name) < floor:
            problems.append(f"poll.{name}: at least {floor:g} s; the gateway freezes when polled harder")
    if not _valid_live_interval(sections["poll"].live):
        problems.append(f"poll.live: must be auto, 0 (never) or at least {MIN_LIVE_POLL_S:g} s")
    check_energy(sections["energy"], sections["poll"], problems)
    check_controls(sections["controls"], problems)
    check_cloud_api(sections["cloud_api"], problems)
    check_cloud_urls(sections["cloud_api"], problems, "cloud_api", CLOUD_API_URL_KEYS)
    check_http(sections["http"], problems)


def check_energy(energy: EnergyConfig, poll: PollIntervals, problems: list[str]) -> None:
    """The save interval's floor. A gap limit below the normal wait between two power readings
    is not refused (that would break configs that slow the polls down): the worker raises it."""
    if energy.save_interval_s < MIN_SAVE_INTERVAL_S:
        problems.append(f"energy.save_interval_s: at least {MIN_SAVE_INTERVAL_S:g} s")


def check_controls(controls: ControlsConfig, problems: list[str]) -> None:
    """Floors that keep a flood of commands, or of read-backs, off the gateway."""
    if controls.min_interval_s < MIN_CONTROL_INTERVAL_S:
        problems.append(f"controls.min_interval_s: at least {MIN_CONTROL_INTERVAL_S:g} s")
    if controls.revert_check_s < MIN_CONTROL_INTERVAL_S:
        problems.append(f"controls.revert_check_s: at least {MIN_CONTROL_INTERVAL_S:g} s")
    if controls.revert_window_s < 0:
        problems.append("controls.revert_window_s: 0 (no watch) or more seconds")
    if not 0 < controls.production_eid < 2**32:
        problems.append("controls.production_eid: a device id between 1 and 4294967295")


# The Enlighten password and the tokens travel to these URLs: https, except to this machine
# itself (the simulator and the tests serve the cloud on loopback).
CLOUD_URL_KEYS = ("enlighten_url", "entrez_url")
CLOUD_HTTP_REFUSED = (
    "plain http would send the Enlighten password and tokens in clear text; use https:// "
    "(http:// is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost)"
)


def check_cloud_urls(
    cloud: CloudConfig | CloudApiConfig,
    problems: list[str],
    section: str = "cloud",
    keys: tuple[str, ...] = CLOUD_URL_KEYS,
) -> None:
    """`cloud.enlighten_url` and `cloud.entrez_url` (or the API's URLs): https://host[:port][/path],
    or http to loopback."""
    for key in keys:
        why = cloud_url_problem(str(getattr(cloud, key)))
        if why:
            problems.append(f"{section}.{key}: {why}")


def cloud_url_problem(url: str) -> str | None:
    # No user info, backslash or blank: where urlsplit and urllib3 could read different hosts.
    # Not shown: what precedes an '@' may be a password.
    if any(c in "@\\" or not c.isprintable() or c.isspace() for c in url):
        return "expected a plain https://host[:port] URL, without '@', '\\' or blanks"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - parsing the port is the check: ValueError when out of range
    except ValueError:
        return f"invalid port in {_show(url)}"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return f"expected an https:// URL, got {_show(url)}"
    if scheme == "http" and not is_loopback(parts.hostname):
        return CLOUD_HTTP_REFUSED
    return None


def check_token_flows(cloud: CloudConfig, problems: list[str]) -> None:
    """`cloud.token_flows`: at least one flow, each a known one, none twice."""
    valid = f"(valid: {', '.join(TOKEN_FLOWS)})"
    flows = cloud.token_flows
    if not flows:
        problems.append(f"cloud.token_flows: at least one token flow is needed {valid}")
    unknown = [name for name in flows if name not in TOKEN_FLOWS]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        problems.append(f"cloud.token_flows: unknown flow{plural} {', '.join(map(_show, unknown))} {valid}")
    twice = sorted({name for name in flows if flows.count(name) > 1})
    if twice:
        problems.append(f"cloud.token_flows: {', '.join(twice)} listed more than once")


def _valid_live_interval(value: float | str) -> bool:
    if value == LIVE_AUTO:
        return True
    try:
        seconds = float(value)
    except ValueError:
        return False
    return seconds == 0 or MIN_LIVE_POLL_S <= seconds < math.inf


def _valid_expire_after(expire: str) -> bool:
    if expire == "auto":
        return True
    try:
        return float(expire) >= 0
    except ValueError:
        return False


def check_gateway(path: str, values: dict[str, Any], problems: list[str]) -> None:
    """Checks across one gateway's fields; normalises the fingerprint in `values` on the way."""
    fingerprint = values.get("fingerprint")
    if fingerprint:
        normalized = fingerprint.replace(":", "").strip().lower()
        if not FINGERPRINT_RE.match(normalized):
            problems.append(f"{path}.tls.fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons allowed)")
        values["fingerprint"] = normalized
    if fingerprint and values.get("insecure"):
        problems.append(f"{path}.tls: set either fingerprint or insecure, not both")
    check_pinned_scheme(path, values, problems)
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
    check_gateway_names(path, values, problems)


def check_pinned_scheme(path: str, values: dict[str, Any], problems: list[str]) -> None:
    """A pinned certificate means https with that certificate: `http://` would silently skip it."""
    if values.get("fingerprint") and values.get("scheme") == "http":
        problems.append(
            f"{path}.host: http:// and a pinned certificate (`tls.fingerprint`): over http the pin is "
            "never checked and everything travels in clear text; use https:// or no scheme"
        )


# Where a configured name becomes part of every topic: the base topic above each gateway's
# topics, the discovery prefix above its configs, the birth topic the bridge subscribes to.
TOPIC_PREFIX_KEYS = (("mqtt", "base_topic"), ("homeassistant", "prefix"), ("homeassistant", "birth_topic"))


def check_topic_prefixes(sections: dict[str, Any], problems: list[str]) -> None:
    """Each topic prefix by the one rule of bridge/identifiers.py: `/`-separated levels of
    letters, digits, '-' and '_' (no wildcard, no leading '$', no empty or trailing level)."""
    for section, key in TOPIC_PREFIX_KEYS:
        value = getattr(sections[section], key)
        if why := identifiers.prefix_problem(value):
            problems.append(f"{section}.{key}: {identifiers.show(value)} {why}")


def check_gateway_names(path: str, values: dict[str, Any], problems: list[str]) -> None:
    """The configured serial names the gateway's topics; until the serial is known, its host does."""
    serial = values.get("serial")
    if serial is not None and (why := identifiers.serial_problem(serial)):
        problems.append(f"{path}.serial: {identifiers.show(serial)} {why}")
    host = values.get("host")
    if host and serial is None and (why := identifiers.host_problem(host)):
        problems.append(f"{path}.host: {identifiers.show(host)} {why}")
