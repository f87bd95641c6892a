"""Configuration: frozen dataclasses, loaded from YAML with environment overrides.

`load_config(path, environ)` returns a `Config` or raises `ConfigError` listing every problem
with its key path. Secrets are `repr=False` so they never reach logs or tracebacks.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from bridge.errors import ConfigError

ENV_PREFIX = "ENVOY_BRIDGE_"
ENLIGHTEN_URL = "https://enlighten.enphaseenergy.com"
ENTREZ_URL = "https://entrez.enphaseenergy.com"
# The gateway is a small device that users have frozen by polling too hard; below this the
# bridge refuses rather than hurting it (Home Assistant polls every 60 s).
MIN_POLL_INTERVAL_S = 5.0
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class PollIntervals:
    """Seconds between two polls of each group (see bridge/endpoints.py for what each reads)."""

    meters: float = 10.0
    grid: float = 10.0
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


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    discovery: bool = True
    prefix: str = "homeassistant"
    birth_topic: str = "homeassistant/status"


@dataclass(frozen=True, slots=True)
class Config:
    gateways: tuple[GatewayConfig, ...]
    mqtt: MqttConfig = MqttConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    cloud: CloudConfig = CloudConfig()
    poll: PollIntervals = PollIntervals()
    log_level: str = "INFO"

    def secrets(self) -> list[str]:
        """Every configured secret, for the log redaction filter."""
        values = [self.mqtt.password]
        for gw in self.gateways:
            values += [gw.password, gw.token]
        return [v for v in values if v]
