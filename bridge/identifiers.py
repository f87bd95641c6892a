"""The one rule for every identifier that becomes part of an MQTT topic or a Home Assistant id.

Gateway serials, unit serials and relay ids are topic levels (`{base}/{serial}/inverter/{sn}`)
and parts of discovery topics and unique ids (`{prefix}/sensor/{serial}/{sn}_power/config`);
the base topic, the discovery prefix and the birth topic are the levels above them. So:

- an id is 1 to 64 characters of `[A-Za-z0-9_-]`: what Home Assistant accepts in a discovery
  topic's node and object ids, and what real gateways send (12-digit serials, meters with a
  suffix such as `EIM1`, relays `NC1`). That leaves out what breaks a topic or an entity: the
  MQTT wildcards `#` and `+` (paho refuses to publish, and its thread dies), `/` (extra topic
  levels), control characters and non-characters (brokers drop the connection as malformed),
  spaces and other unicode (Home Assistant ignores the config);
- a gateway serial is also not a name the bridge uses at that level (`{base}/bridge/...`);
- an instance id (`mqtt.instance_id`, one bridge among several on a broker) is an id too: it
  names the bridge's own topics, `{base}/bridge/{instance}/...`; by default the host name,
  made an id by `instance_from_host`;
- a topic prefix is `/`-separated levels of the same alphabet: so no wildcard, no leading `$`
  (the broker's own topics, which it drops silently), no empty level, no leading or trailing `/`;
- a gateway whose serial is not known yet is named by its host, so a host is one level of the
  same alphabet plus what a name or an address adds (`.`, `:`, `%`);
- the publisher checks every topic once more before it keeps or sends it: levels of that
  alphabet, so a mistake anywhere costs one message, never paho's thread or the connection.

Patterns are used with `fullmatch`: `$` in a `match` pattern also matches before a final
newline, which let a serial ending in "\\n" through. Imports nothing of the bridge: the
configuration, the model and the MQTT publisher all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeGuard

# `{base}/bridge/...` is the bridges' own (`{base}/bridge/{instance}/availability`, and the
# `{base}/bridge/availability` of earlier versions): a gateway serial `bridge` would share it.
RESERVED_SERIALS = frozenset({"bridge"})
# `{base}/bridge/request/<verb>` and `.../response/<verb>` are the request topics every instance
# shares: an instance with either name would have its own topics read as requests.
RESERVED_INSTANCES = frozenset({"request", "response"})


@dataclass(frozen=True, slots=True)
class Rule:
    """Characters of `[A-Za-z0-9_-]` plus `extra`, one level or `/`-separated levels, at most
    `max_length` characters."""

    what: str  # "an id", "a topic prefix" ...: for the error message
    max_length: int
    levels: bool = False
    extra: str = ""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        level = f"[A-Za-z0-9_{re.escape(self.extra)}-]+"
        object.__setattr__(self, "pattern", re.compile(f"{level}(?:/{level})*" if self.levels else level))

    def problem(self, value: object) -> str | None:
        """Why `value` breaks the rule, in words a user can act on; None when it is fine."""
        if not isinstance(value, str):
            return f"must be text, not {type(value).__name__}"
        if len(value) <= self.max_length and self.pattern.fullmatch(value) is not None:
            return None
        return next((reason for failed, reason in self._checks(value) if failed), self._odd(value))

    def _checks(self, value: str) -> tuple[tuple[bool, str], ...]:
        return (
            (not value, "is empty"),
            (any(c in "#+" for c in value), "contains an MQTT wildcard ('#' or '+')"),
            (any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value), "contains a control character"),
            (not value.isascii(), "contains a non-ASCII character"),
            (" " in value, "contains a space"),
            (self.levels and value.startswith("$"), "starts with '$' (topics the broker keeps for itself)"),
            (self.levels and value.startswith("/"), "starts with '/'"),
            (self.levels and value.endswith("/"), "ends with '/'"),
            (self.levels and "//" in value, "has an empty topic level ('//')"),
            (not self.levels and "/" in value, "contains '/' (it would add topic levels)"),
            (len(value) > self.max_length, f"is longer than {self.max_length} characters"),
        )

    def _odd(self, value: str) -> str:
        allowed = "letters, digits, " + ", ".join(repr(c) for c in ("-", "_", *self.extra))
        if self.levels:
            allowed += ", in levels separated by '/'"
        odd = next((c for c in value if not (c.isalnum() or c in f"-_/{self.extra}")), None)
        found = f"contains {odd!r}: " if odd else ""
        return f"{found}{self.what} may contain only {allowed}"


UNIT_ID = Rule("an id", 64)
TOPIC_PREFIX = Rule("a topic prefix", 128, levels=True)
# A gateway whose serial is not known yet is named by its host (a DNS name, an IPv4 or IPv6 address).
HOST = Rule("a host used as a topic level", 253, extra=".:%")
# Far beyond the longest topic the bridge makes (MQTT allows 65535 bytes).
TOPIC = Rule("a topic", 1024, levels=True, extra=".:%")


def id_problem(value: object) -> str | None:
    """Why `value` cannot be a unit's id in a topic (a serial, a relay id); None when it can."""
    return UNIT_ID.problem(value)


def serial_problem(value: object) -> str | None:
    """Why `value` cannot be a gateway's serial (its topic level below the base); None when it can."""
    problem = UNIT_ID.problem(value)
    if problem is None and str(value).lower() in RESERVED_SERIALS:
        return f"is reserved: {{base}}/{str(value).lower()}/... is the bridge's own topic"
    return problem


def prefix_problem(value: object) -> str | None:
    """Why `value` cannot be a topic prefix (base topic, discovery prefix, birth topic)."""
    return TOPIC_PREFIX.problem(value)


def host_problem(value: object) -> str | None:
    """Why a gateway's host cannot name its topics until its serial is known; None when it can."""
    return HOST.problem(value)


def topic_problem(value: object) -> str | None:
    """Why the publisher must not keep or send a message on `value`; None for a topic of its own."""
    return TOPIC.problem(value)


def instance_from_host(host: str) -> str:
    """A host name as an instance id: lower case (host names ignore case), every run of other
    characters (the dots of `pi.example.org`) one `-`, cut to 64; `bridge` for nothing left."""
    text = re.sub(r"[^a-z0-9_-]+", "-", host.lower()).strip("-")[: UNIT_ID.max_length].strip("-")
    return f"{text}-bridge" if text in RESERVED_INSTANCES else text or "bridge"


def is_id(value: object) -> TypeGuard[str]:
    return UNIT_ID.problem(value) is None


class Refusals:
    """The refusals logged so far, so each is logged once: a gateway or a bug that makes the
    same bad id every cycle costs one line, and one inventing a new one every cycle at most
    `limit` lines. Not thread-safe: each user is one gateway's sink, or under a lock."""

    def __init__(self, limit: int = 20) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def first_time(self, key: str) -> bool:
        """True when `key` is new and fewer than `limit` were logged: log it now."""
        if key in self.seen or len(self.seen) >= self.limit:
            return False
        self.seen.add(key)
        return True


def show(value: object, limit: int = 40) -> str:
    """`value` for a log line or an error message: quoted, escaped to ASCII (a newline or an
    escape sequence in a serial cannot forge or colour a log line), and cut short."""
    text = str(value)
    return ascii(text[:limit]) + ("..." if len(text) > limit else "")
