"""The configuration as frozen dataclasses, their defaults, and the keys a file may use.

Secrets are `repr=False` so they never reach logs or tracebacks.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bridge import identifiers

ENLIGHTEN_URL = "https://enlighten.enphaseenergy.com"
ENTREZ_URL = "https://entrez.enphaseenergy.com"
# The Enlighten Systems API v4 (reference §4): API and OAuth on one host.
CLOUD_API_URL = "https://api.enphaseenergy.com"
CLOUD_API_REDIRECT_URI = CLOUD_API_URL + "/oauth/redirect_uri"  # Enphase's page that shows the code
CLOUD_API_MODES = ("complement", "only")
CLOUD_API_GRANTS = ("authorization_code", "password")
CLOUD_ONLY_GATEWAY_KEYS = ("serial",)  # a gateway of `cloud_api.mode: only`: no local access, no host
# The ways to get a token from the Enphase cloud (bridge/auth/flows.py), in the default order:
# Enlighten login + Entrez /tokens, the same login + Enlighten's token page, the Entrez web form.
TOKEN_FLOWS = ("entrez_json", "enlighten_get", "entrez_form")
# The gateway is a small device that users have frozen by polling too hard; below this the
# bridge refuses rather than hurting it (Home Assistant polls every 60 s).
MIN_POLL_INTERVAL_S = 5.0
# Except the grid group: it reads only the relay (187 bytes, answered in 0.03-0.35 s), and only
# on gateways with an IQ System Controller or Collar, so an outage reaches the broker in < 2 s.
MIN_GRID_POLL_S = 1.0
# The live group (`poll.live`): /ivp/livedata/status answers ~3.6 kB in ~0.17 s, so it may be
# read every second too. "auto": every second on a gateway with batteries or an IQ System
# Controller (flows that move fast, an outage to show at once), else every 5 s; 0: never.
LIVE_AUTO = "auto"
LIVE_FAST_S, LIVE_SLOW_S = 1.0, 5.0
MIN_LIVE_POLL_S = 1.0
MONTH_S = 31 * 86400.0  # the longest calendar month: the cloud budget's spread at its slowest
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")
# A `Config` built in code gets this; a loaded one honours XDG_STATE_HOME (see build.py).
DEFAULT_CACHE_DIR = Path("~/.local/state/envoy-mqtt-bridge").expanduser()


@dataclass(frozen=True, slots=True)
class PollIntervals:
    """Seconds between two polls of each group (see bridge/gateway/schedule.py for what each reads)."""

    meters: float = 10.0
    grid: float = 1.0
    energy: float = 60.0
    inverters: float = 300.0
    batteries: float = 60.0
    info: float = 3600.0
    live: float | str = LIVE_AUTO  # "auto", 0 (never) or seconds

    def interval(self, group: str, fast_live: bool = False) -> float:
        """Seconds between two polls of `group`; for "live" on "auto", 1 s when `fast_live` (the
        gateway has batteries or a system controller), else 5 s. 0: the group never runs."""
        if group != "live":
            return float(getattr(self, group))
        if self.live == LIVE_AUTO:
            return LIVE_FAST_S if fast_live else LIVE_SLOW_S
        return float(self.live)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    host: str  # "" for the gateway of `cloud_api.mode: only`: read from the cloud, never locally
    scheme: str | None = None  # None: https for firmware 7+, probe http for older ones
    port: int | None = None
    serial: str | None = None  # None: read from /info
    username: str | None = None  # Enlighten e-mail (firmware 7+) or digest user (older)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # a pasted JWT wins over the cloud
    token_cache: Path | None = None
    # The cache's name before it told ports apart (token-<host>.jwt): read once, if at all.
    token_cache_previous: Path | None = None
    # The energy counters the bridge computes (bridge/gateway/energy.py); None: memory only.
    energy_state: Path | None = None
    fingerprint: str | None = None  # sha256 of the gateway certificate, lower-case hex
    insecure: bool = False  # explicit opt-out of certificate checks
    connect_timeout: float = 10.0
    read_timeout: float = 45.0  # the Envoy is fast to connect but slow to answer

    @property
    def label(self) -> str:
        """How logs name this gateway, telling apart two on one host: never a secret."""
        if self.serial:
            return self.serial
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class CloudConfig:
    enlighten_url: str = ENLIGHTEN_URL
    entrez_url: str = ENTREZ_URL
    ca_file: str | None = None  # extra CA to trust for the cloud (tests, proxies); never disables checks
    timeout: float = 30.0
    # Tried in this order until one gives a token; the flow that worked last time goes first.
    token_flows: tuple[str, ...] = TOKEN_FLOWS


@dataclass(frozen=True, slots=True)
class CloudApiConfig:
    """The Enlighten Systems API v4 (bridge/cloudapi): off unless its credentials are set."""

    api_key: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    system_id: int = 0  # 0: found through the API by the gateway's serial
    # The plan's limits (the free Watt plan: 10 a minute, 1,000 a calendar month, UTC).
    per_minute: int = 10
    per_month: int = 1000
    spread: bool = True  # the month's calls spread evenly over the month (about 32 a day on Watt)
    mode: str = "complement"  # beside a local gateway, or "only": no local access at all
    # complement: once the local gateway has been offline this long, summaries skip the spread
    # (a bounded share of the month's calls) so production and status still show
    outage_after_s: float = 300.0
    api_url: str = CLOUD_API_URL
    oauth_url: str = CLOUD_API_URL
    redirect_uri: str = CLOUD_API_REDIRECT_URI
    grant: str = "authorization_code"  # "password": partner accounts, with username and password
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # extra CA to trust (tests, the simulator); never disables checks
    timeout: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.client_id or self.client_secret)

    @property
    def only(self) -> bool:
        """No local gateway at all: the state comes from the cloud."""
        return self.enabled and self.mode == "only"


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
    # One bridge among several on a broker (docs/fleet.md): names its own topics. "": the host name.
    instance_id: str = ""
    qos: int = 1
    keepalive: int = 60
    max_queued_messages: int = 10000  # bounds memory while the broker is away
    republish_interval: float = 300.0  # unchanged values are sent again this often

    @property
    def instance(self) -> str:
        """The instance id as configured, else the host name made an id (a `Config` built in code)."""
        return self.instance_id or identifiers.instance_from_host(socket.gethostname())

    def bridge_topic(self, name: str) -> str:
        """`{base}/bridge/{instance}/{name}`: the topics of this bridge itself, not of a gateway,
        apart from every other instance's on the same broker."""
        return f"{self.base_topic}/bridge/{self.instance}/{name}"

    @property
    def availability_topic(self) -> str:
        """online / offline, retained, and the last will."""
        return self.bridge_topic("availability")

    @property
    def previous_availability_topic(self) -> str:
        """Where versions before instance ids said online / offline, one topic for every bridge."""
        return f"{self.base_topic}/bridge/availability"


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    discovery: bool = True
    prefix: str = "homeassistant"
    birth_topic: str = "homeassistant/status"
    # Seconds after which Home Assistant marks an entity unavailable when no message arrived:
    # "auto" = max(3 x the entity's poll interval, mqtt.republish_interval + a margin),
    # 0 = never, a number = that many seconds for every entity.
    expire_after: str = "auto"
    # A birth message (anyone on the broker may send one) is answered with a full republish at
    # most once in this many seconds; later ones share the next answer (0 = answer each one).
    birth_republish_min_interval: float = 60.0

    @property
    def expire_after_s(self) -> float | None:
        """None for "auto", else the configured seconds (0 = disabled)."""
        return None if self.expire_after == "auto" else float(self.expire_after)


@dataclass(frozen=True, slots=True)
class HealthConfig:
    # Seconds an online gateway may go without publishing before `health` says unhealthy;
    # 0 = auto: 3 x the slowest poll group that publishes (see `Config.max_silence_s`).
    max_silence: float = 0.0


@dataclass(frozen=True, slots=True)
class EnergyConfig:
    """The energy counters the bridge computes where the gateway has none (docs/mqtt.md)."""

    # Two samples further apart than this add nothing: the time between is a gap, never a guess.
    max_gap_s: float = 300.0
    # The state file is written at most this often (and at a clean stop).
    save_interval_s: float = 60.0


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The HTTP endpoint (docs/http.md): /healthz, /metrics and the status page; off unless set."""

    listen: str = ""  # host:port, e.g. 127.0.0.1:8080; no authentication: keep it on loopback

    @property
    def enabled(self) -> bool:
        return bool(self.listen)


CONTROL_FAMILIES = ("battery", "relays", "grid", "generator", "production")


@dataclass(frozen=True, slots=True)
class ControlsConfig:
    """Writes to the gateway commanded over MQTT (docs/mqtt.md "Controls"): off unless enabled."""

    battery: bool = False  # storage mode, reserve, charge from grid, AC Battery sleep
    relays: bool = False  # the dry-contact relays and their settings
    grid: bool = False  # the IQ System Controller's grid relay: really islands the house
    generator: bool = False  # the standby generator's mode
    production: bool = False  # production on/off: an installer token only
    # Commands to one control closer together than this are refused (not queued).
    min_interval_s: float = 5.0
    # After a confirmed write, the value is read again every `revert_check_s` for this long:
    # a change back (the gateway, or the Enphase cloud within a minute or two) is reported.
    revert_window_s: float = 600.0
    revert_check_s: float = 30.0
    production_eid: int = 603980032  # the `<EID>` of /ivp/mod/<EID>/mode/power (reference §1.6)

    def enabled(self, family: str) -> bool:
        return bool(getattr(self, family))


@dataclass(frozen=True, slots=True)
class Config:
    gateways: tuple[GatewayConfig, ...]
    mqtt: MqttConfig = MqttConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    cloud: CloudConfig = CloudConfig()
    poll: PollIntervals = PollIntervals()
    log_level: str = "INFO"
    cache_dir: Path = DEFAULT_CACHE_DIR
    health: HealthConfig = HealthConfig()
    energy: EnergyConfig = EnergyConfig()
    controls: ControlsConfig = ControlsConfig()
    cloud_api: CloudApiConfig = CloudApiConfig()
    http: HttpConfig = HttpConfig()

    @property
    def health_file(self) -> Path:
        """The health document `run` rewrites every few seconds; read by `health` (Docker)."""
        return self.cache_dir / "health"

    @property
    def max_silence_s(self) -> float:
        """How long an online gateway may publish nothing before the bridge counts as unhealthy:
        `health.max_silence`, or 3 x the slowest group whose poll ends in a publish (the grid
        group publishes only changes, info only re-reads /info: neither counts)."""
        if self.health.max_silence:
            return self.health.max_silence
        poll = self.poll
        if self.cloud_api.only:  # the state changes at the cloud budget's pace (~45 min on Watt)
            return 3 * MONTH_S / self.cloud_api.per_month
        return 3 * max(poll.meters, poll.energy, poll.inverters, poll.batteries)

    def secrets(self) -> list[str]:
        """Every configured secret, for the log redaction filter."""
        values = [self.mqtt.password]
        for gw in self.gateways:
            values += [gw.password, gw.token]
        api = self.cloud_api
        values += [api.api_key, api.client_id, api.client_secret, api.password]
        return [v for v in values if v]


# --- the keys a file or the environment may use -----------------------------------------------

# Names that hold a secret in every section that has them. What the code goes by is the field's
# `repr=False` (secret_fields): `cloud_api.client_id` is secret, `mqtt.client_id` is not.
SECRET_KEYS = ("password", "token", "api_key", "client_secret")
GATEWAY_KEYS = (
    "host",
    "serial",
    "username",
    "password",
    "token",
    "token_cache",
    "energy_state",
    "fingerprint",
    "insecure",
    "connect_timeout",
    "read_timeout",
)
Section = (
    MqttConfig
    | HomeAssistantConfig
    | CloudConfig
    | PollIntervals
    | HealthConfig
    | EnergyConfig
    | ControlsConfig
    | CloudApiConfig
    | HttpConfig
)
SECTIONS: dict[str, type[Section]] = {
    "mqtt": MqttConfig,
    "homeassistant": HomeAssistantConfig,
    "cloud": CloudConfig,
    "poll": PollIntervals,
    "health": HealthConfig,
    "energy": EnergyConfig,
    "controls": ControlsConfig,
    "cloud_api": CloudApiConfig,
    "http": HttpConfig,
}
TOP_KEYS = ("gateways", "log_level", "cache_dir", *SECTIONS)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def field_names(cls: type[Any]) -> list[str]:
    return [f.name for f in fields(cls)]


def defaults(cls: type[Any]) -> dict[str, Any]:
    return {f.name: f.default for f in fields(cls)}


def secret_fields(cls: type[Any]) -> list[str]:
    """A section's secrets (its `repr=False` fields): masked by check-config, and each may also
    come from `<key>_file` (YAML) or `..._FILE` (env)."""
    return [f.name for f in fields(cls) if not f.repr]


def secret_file_keys(cls: type[Any]) -> list[str]:
    """The `<secret>_file` keys a section accepts: one per secret field it has."""
    return [f"{k}_file" for k in secret_fields(cls)]
