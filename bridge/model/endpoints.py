"""The endpoint registry: every endpoint the model reads, one entry each, in probe order.

An entry says where the endpoint is, how its body is parsed and into what, which poll group
reads it (the names of `bridge.gateway.schedule.GROUPS`), which gateways have it and what it
takes to be let in (reference §1-2). Probing (`CANDIDATE_ENDPOINTS`), parsing (`ENDPOINTS`),
grouping (`POLL_GROUPS`) and every lookup by path (`parsed_result`) read it. A new endpoint is
one entry here plus its parser in parse/ and their tests; the code that uses its reading (a
rule in select.py, a `Readings` field for the builders) belongs to the feature it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bridge.model.parse.ensemble import (
    EnsembleInventory,
    EnsemblePower,
    Secctrl,
    parse_ensemble_power,
    parse_inventory,
    parse_secctrl,
)
from bridge.model.parse.livedata import LiveData, parse_livedata
from bridge.model.parse.meters import MeterReadings, MetersConfig, parse_meter_readings, parse_meters
from bridge.model.parse.production import (
    ApiV1Production,
    ProductionReport,
    parse_api_v1_production,
    parse_production_report,
)
from bridge.model.parse.relay import RelayState, parse_relay
from bridge.model.parse.reports import (
    DeviceData,
    DeviceInventory,
    InverterReports,
    parse_device_data,
    parse_device_inventory,
    parse_inverter_reports,
)
from bridge.model.parse.settings import (
    DryContacts,
    DryContactSettings,
    GeneratorConfig,
    GeneratorMode,
    GeneratorStatus,
    Tariff,
    parse_dry_contact_settings,
    parse_dry_contacts,
    parse_generator,
    parse_generator_config,
    parse_generator_mode,
    parse_tariff,
)

T = TypeVar("T")

# Firmware 7+ takes a JWT, older firmware HTTP digest (reference §1.2-1.3). A 401 on probing
# means "absent here", as for pyenphase (§1.4).
ANY_AUTH = "any token (firmware 7+), else the digest user"
OWNER_MAY_BE_REFUSED = f"{ANY_AUTH}; an owner token may be refused (§1.4)"
# The gateway refreshes per-inverter data only every 5 to 15 minutes (reference §2): a read
# sooner gets the same answer. Settings change by hand (a control's read-back reads them again
# at once after a write, bypassing this) or when the cloud rewrites them: hourly is enough.
INVERTER_REFRESH_S = 300.0
SETTINGS_REFRESH_S = 3600.0


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    path: str  # what is requested, query included
    parser: Callable[[str, object], T]  # (path, decoded JSON) -> reading; EnvoyDataError if unusable
    result: type[T]  # the reading's type: anything else stored for this path counts as absent
    group: str  # the poll group that reads it once selected
    gateways: str  # which gateways have it, for the reader
    auth: str  # what the gateway asks before it answers
    token_only: bool = False  # firmware 7+ only: never probed on older gateways
    # Read no more often than this, whatever its group's interval (0: at the group's interval).
    refresh_s: float = 0.0

    def parse(self, doc: object) -> T:
        return self.parser(self.path, doc)


# --- the registry, in pyenphase's probe order: meters first (they decide the phase count and
# whether the production CT exists), then the production reports from best to last resort, then
# the per-device reports, the Ensemble devices, and their settings. -----------------------------

METERS = Endpoint(
    "/ivp/meters",
    parse_meters,
    MetersConfig,
    group="info",  # the CT list almost never changes
    gateways="every gateway: `[]` on standard (non-metered) ones, all disabled without CTs; 401 on D3.18.10",
    auth=ANY_AUTH,
)
METER_READINGS = Endpoint(
    "/ivp/meters/readings",
    parse_meter_readings,
    MeterReadings,
    group="meters",  # what changes fast and costs the gateway little
    gateways="metered gateways with CTs",
    auth=ANY_AUTH,
)
PRODUCTION_JSON = Endpoint(
    "/production.json?details=1",
    parse_production_report,
    ProductionReport,
    group="energy",
    gateways="every gateway; CT numbers on metered ones, per-phase lines; 401 on early firmware 7",
    auth=ANY_AUTH,
)
PRODUCTION = Endpoint(
    "/production",  # slow (3-11 s)
    parse_production_report,
    ProductionReport,
    group="energy",
    gateways="older firmware: the same report without lines; HTML on 3.x, 401 on early firmware 7",
    auth=ANY_AUTH,
)
API_V1_PRODUCTION = Endpoint(
    "/api/v1/production",
    parse_api_v1_production,
    ApiV1Production,
    group="energy",
    gateways="standard gateways' production; zeros (or stalled) on metered ones without CTs",
    auth=ANY_AUTH,
)
DEVICE_DATA = Endpoint(
    "/ivp/pdm/device_data",
    parse_device_data,
    DeviceData,
    group="inverters",  # the gateway refreshes per-inverter data only every 5 to 15 minutes
    gateways="newer firmware; complete only below deviceDataLimit (50) devices",
    auth=OWNER_MAY_BE_REFUSED,
    refresh_s=INVERTER_REFRESH_S,
)
INVERTERS = Endpoint(
    "/api/v1/production/inverters",
    parse_inverter_reports,
    InverterReports,
    group="inverters",
    gateways="every gateway with microinverters or AC Batteries (devType 11)",
    auth=OWNER_MAY_BE_REFUSED,
    refresh_s=INVERTER_REFRESH_S,
)
INVENTORY = Endpoint(
    "/ivp/ensemble/inventory",
    parse_inventory,
    EnsembleInventory,
    group="batteries",  # the batteries' and Enpower's details (3.7 kB): once a minute is plenty
    gateways="firmware 5+: IQ Batteries, IQ System Controller, IQ Meter Collar, IQ Combiner 6C; `[]` without them",
    auth=ANY_AUTH,
)
RELAY = Endpoint(
    "/ivp/ensemble/relay",
    parse_relay,
    RelayState,
    # The grid group reads only the cheapest endpoint that reports the grid relay (the relay
    # itself, 187 bytes; the inventory only for a Collar without Enpower), every second or two,
    # so an outage is on the broker within 2 s. See `bridge.gateway.schedule.group_endpoints`.
    group="grid",
    gateways="firmware 7+; means something only with an IQ System Controller (reads closed without one)",
    auth=ANY_AUTH,
)
SECCTRL = Endpoint(
    "/ivp/ensemble/secctrl",
    parse_secctrl,
    Secctrl,
    group="batteries",
    gateways="IQ Batteries, and the combined numbers with AC Batteries",
    auth=ANY_AUTH,
)
ENSEMBLE_POWER = Endpoint(
    "/ivp/ensemble/power",
    parse_ensemble_power,
    EnsemblePower,
    group="batteries",
    gateways="IQ Batteries",
    auth=ANY_AUTH,
)
DEVICE_INVENTORY = Endpoint(
    "/inventory.json?deleted=1",  # slow (2-6 s)
    parse_device_inventory,
    DeviceInventory,
    group="inverters",  # ACB and inverter health change slowly
    gateways="every gateway: per-device AC Battery and inverter health",
    auth=OWNER_MAY_BE_REFUSED,
)
TARIFF = Endpoint(
    "/admin/lib/tariff",
    parse_tariff,
    Tariff,
    group="info",  # settings change by hand (or when the cloud rewrites them), and it is large
    gateways="every gateway; storage settings only with batteries; 401 on 3.9.36",
    auth=ANY_AUTH,
    refresh_s=SETTINGS_REFRESH_S,
)
DRY_CONTACTS = Endpoint(
    "/ivp/ensemble/dry_contacts",
    parse_dry_contacts,
    DryContacts,
    group="batteries",  # relay states follow SOC and grid rules, not seconds
    gateways="IQ System Controller (four unconfigured relays without one)",
    auth=ANY_AUTH,
)
DRY_CONTACT_SETTINGS = Endpoint(
    "/ivp/ss/dry_contact_settings",
    parse_dry_contact_settings,
    DryContactSettings,
    group="info",
    gateways="IQ System Controller",
    auth=ANY_AUTH,
    refresh_s=SETTINGS_REFRESH_S,
)
GEN_CONFIG = Endpoint(
    "/ivp/ss/gen_config",
    parse_generator_config,
    GeneratorConfig,
    group="info",
    gateways="IQ System Controller: `{}` without a generator",
    auth=ANY_AUTH,
    refresh_s=SETTINGS_REFRESH_S,
)
GENERATOR = Endpoint(
    "/ivp/ensemble/generator",
    parse_generator,
    GeneratorStatus,
    group="batteries",
    gateways="IQ System Controller with a generator (`present` reads 1 on many without one)",
    auth=ANY_AUTH,
)
GEN_MODE = Endpoint(
    "/ivp/ss/gen_mode",
    parse_generator_mode,
    GeneratorMode,
    group="info",
    gateways="IQ System Controller with a generator",
    auth=ANY_AUTH,
    refresh_s=SETTINGS_REFRESH_S,
)
LIVE_DATA = Endpoint(
    "/ivp/livedata/status",  # ~3.6 kB in ~0.17 s: cheap enough for every second
    parse_livedata,
    LiveData,
    group="live",
    gateways="token firmware (7+) only; zeros and last_update 0 without CTs or Ensemble devices",
    auth=OWNER_MAY_BE_REFUSED,
    token_only=True,
)
# Not polled: the write that switches the live-data stream on (§2.2), `{"enable": 1}`.
LIVE_STREAM_PATH = "/ivp/livedata/stream"

REGISTRY: tuple[Endpoint[Any], ...] = (
    METERS,
    METER_READINGS,
    PRODUCTION_JSON,
    PRODUCTION,
    API_V1_PRODUCTION,
    DEVICE_DATA,
    INVERTERS,
    INVENTORY,
    RELAY,
    SECCTRL,
    ENSEMBLE_POWER,
    DEVICE_INVENTORY,
    TARIFF,
    DRY_CONTACTS,
    DRY_CONTACT_SETTINGS,
    GEN_CONFIG,
    GENERATOR,
    GEN_MODE,
    LIVE_DATA,
)

# --- derived tables: what the poller reads ----------------------------------------------------

CANDIDATE_ENDPOINTS: tuple[str, ...] = tuple(endpoint.path for endpoint in REGISTRY)
ENDPOINTS: dict[str, Callable[[object], Any]] = {endpoint.path: endpoint.parse for endpoint in REGISTRY}
POLL_GROUPS: dict[str, str] = {endpoint.path: endpoint.group for endpoint in REGISTRY}
REFRESH_S: dict[str, float] = {endpoint.path: endpoint.refresh_s for endpoint in REGISTRY if endpoint.refresh_s}


def parsed_result(parsed: Mapping[str, object], endpoint: Endpoint[T]) -> T | None:
    """The reading of an endpoint, or None when missing or not of its registered type."""
    value = parsed.get(endpoint.path)
    return value if isinstance(value, endpoint.result) else None


def production_reports(parsed: Mapping[str, object]) -> tuple[tuple[str, ProductionReport], ...]:
    """The production reports present, best first, with the path each came from."""
    found = ((endpoint.path, parsed_result(parsed, endpoint)) for endpoint in (PRODUCTION_JSON, PRODUCTION))
    return tuple((path, report) for path, report in found if report is not None)
