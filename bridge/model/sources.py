"""Which endpoints the model reads, how each is parsed, and which are worth polling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from bridge.model.controls import (
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
from bridge.model.ensemble import (
    EnsembleInventory,
    EnsemblePower,
    Secctrl,
    parse_ensemble_power,
    parse_inventory,
    parse_secctrl,
)
from bridge.model.flows import v1_usable
from bridge.model.grid import RelayState, grid_status, parse_relay
from bridge.model.info import GatewayInfo
from bridge.model.inverters import detailed_source
from bridge.model.meters import (
    MeterReadings,
    MetersConfig,
    parse_meter_readings,
    parse_meters,
)
from bridge.model.production import (
    ApiV1Production,
    ProductionReport,
    parse_api_v1_production,
    parse_production_report,
)
from bridge.model.reports import (
    ACB,
    DeviceData,
    DeviceInventory,
    InverterReports,
    parse_device_data,
    parse_device_inventory,
    parse_inverter_reports,
)

METERS = "/ivp/meters"
METER_READINGS = "/ivp/meters/readings"
PRODUCTION_JSON = "/production.json?details=1"
PRODUCTION = "/production"  # same JSON without lines, older firmware; slow (3-11 s)
API_V1_PRODUCTION = "/api/v1/production"
DEVICE_DATA = "/ivp/pdm/device_data"
INVERTERS = "/api/v1/production/inverters"
INVENTORY = "/ivp/ensemble/inventory"
RELAY = "/ivp/ensemble/relay"
SECCTRL = "/ivp/ensemble/secctrl"
ENSEMBLE_POWER = "/ivp/ensemble/power"
DEVICE_INVENTORY = "/inventory.json?deleted=1"  # slow (2-6 s): per-device ACB and inverter health
TARIFF = "/admin/lib/tariff"
DRY_CONTACTS = "/ivp/ensemble/dry_contacts"
DRY_CONTACT_SETTINGS = "/ivp/ss/dry_contact_settings"
GEN_CONFIG = "/ivp/ss/gen_config"
GENERATOR = "/ivp/ensemble/generator"
GEN_MODE = "/ivp/ss/gen_mode"

# pyenphase's probe order: meters first (they decide the phase count and whether the
# production CT exists), then the production reports from best to last resort, then the
# per-device reports, the Ensemble devices, and their settings.
CANDIDATE_ENDPOINTS: tuple[str, ...] = (
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
)

# endpoint -> (parser, the type it returns); anything else found in a mapping counts as absent.
_PARSERS: dict[str, tuple[Callable[[str, object], Any], type]] = {
    METERS: (parse_meters, MetersConfig),
    METER_READINGS: (parse_meter_readings, MeterReadings),
    PRODUCTION_JSON: (parse_production_report, ProductionReport),
    PRODUCTION: (parse_production_report, ProductionReport),
    API_V1_PRODUCTION: (parse_api_v1_production, ApiV1Production),
    DEVICE_DATA: (parse_device_data, DeviceData),
    INVERTERS: (parse_inverter_reports, InverterReports),
    INVENTORY: (parse_inventory, EnsembleInventory),
    RELAY: (parse_relay, RelayState),
    SECCTRL: (parse_secctrl, Secctrl),
    ENSEMBLE_POWER: (parse_ensemble_power, EnsemblePower),
    DEVICE_INVENTORY: (parse_device_inventory, DeviceInventory),
    TARIFF: (parse_tariff, Tariff),
    DRY_CONTACTS: (parse_dry_contacts, DryContacts),
    DRY_CONTACT_SETTINGS: (parse_dry_contact_settings, DryContactSettings),
    GEN_CONFIG: (parse_generator_config, GeneratorConfig),
    GENERATOR: (parse_generator, GeneratorStatus),
    GEN_MODE: (parse_generator_mode, GeneratorMode),
}
ENDPOINTS: dict[str, Callable[[object], Any]] = {ep: partial(parser, ep) for ep, (parser, _) in _PARSERS.items()}
RESULT_TYPES: dict[str, type] = {ep: kind for ep, (_, kind) in _PARSERS.items()}


def parsed_result(parsed: Mapping[str, Any], endpoint: str) -> Any:
    """The parsed result of an endpoint, or None when missing or of the wrong type."""
    value = parsed.get(endpoint)
    return value if isinstance(value, RESULT_TYPES[endpoint]) else None


def production_reports(parsed: Mapping[str, Any]) -> tuple[tuple[str, ProductionReport], ...]:
    found = ((ep, parsed_result(parsed, ep)) for ep in (PRODUCTION_JSON, PRODUCTION))
    return tuple((ep, report) for ep, report in found if report is not None)


def select_endpoints(info: GatewayInfo, probed: Mapping[str, Any]) -> set[str]:
    """The endpoints worth polling on this gateway, given every candidate that answered."""
    config: MetersConfig | None = parsed_result(probed, METERS)
    ct_types = config.enabled_types() if config else frozenset()
    chosen = _meter_endpoints(probed, config) | _production_endpoints(info, probed, ct_types)
    chosen |= _acb_report(probed, chosen) | _inverter_endpoints(probed) | _ensemble_endpoints(probed)
    tariff: Tariff | None = parsed_result(probed, TARIFF)
    if tariff is not None and tariff.storage is not None and has_batteries(probed):
        chosen.add(TARIFF)
    return chosen


def has_batteries(parsed: Mapping[str, Any]) -> bool:
    """IQ Batteries in the Ensemble inventory, or AC Batteries in the production report. Storage
    settings mean nothing without them (7.6.175_with_cts has some and no battery at all)."""
    inventory: EnsembleInventory | None = parsed_result(parsed, INVENTORY)
    acb = any(r.acb_storage() is not None for _, r in production_reports(parsed))
    return acb or (inventory is not None and bool(inventory.encharges))


def _acb_report(probed: Mapping[str, Any], chosen: set[str]) -> set[str]:
    """AC Batteries are reported only in storage[] of the production report: keep one."""
    with_acb = [ep for ep, report in production_reports(probed) if report.acb_storage() is not None]
    return set() if not with_acb or chosen & set(with_acb) else {with_acb[0]}


def _inverter_endpoints(probed: Mapping[str, Any]) -> set[str]:
    device_data: DeviceData | None = parsed_result(probed, DEVICE_DATA)
    v1: InverterReports | None = parsed_result(probed, INVERTERS)
    chosen = {DEVICE_DATA} if detailed_source(device_data) else ({INVERTERS} if v1 is not None else set())
    detailed = {d.serial for d in device_data.active(ACB)} if device_data else set()
    if v1 is not None and any(r.is_acb and r.serial not in detailed for r in v1.reports):
        chosen.add(INVERTERS)  # some AC Batteries' power and report time are only there
    inventory: DeviceInventory | None = parsed_result(probed, DEVICE_INVENTORY)
    if inventory is not None and (inventory.current("ACB") or inventory.current("PCU")):
        chosen.add(DEVICE_INVENTORY)
    return chosen


def _ensemble_endpoints(probed: Mapping[str, Any]) -> set[str]:
    inventory: EnsembleInventory | None = parsed_result(probed, INVENTORY)
    wanted: set[str] = set()
    if any(r.acb_storage() is not None for _, r in production_reports(probed)):
        wanted.add(SECCTRL)  # the combined IQ + AC Battery numbers, even without Ensemble devices
    if inventory is None or not inventory.has_devices:  # `[]` on gateways without Ensemble devices
        return {ep for ep in wanted if parsed_result(probed, ep) is not None}
    wanted.add(INVENTORY)
    # The relay endpoint reads "closed" on every gateway; it only means something with an Enpower.
    if inventory.enpowers:
        wanted |= {RELAY, DRY_CONTACTS, DRY_CONTACT_SETTINGS} | _generator_endpoints(probed)
    if inventory.encharges:
        wanted |= {SECCTRL, ENSEMBLE_POWER}
    return {ep for ep in wanted if parsed_result(probed, ep) is not None}


def grid_endpoint(parsed: Mapping[str, Any]) -> str | None:
    """The cheapest endpoint that reports the grid relay on this gateway, for the fast grid poll:
    the Enpower's relay (187 bytes), else the inventory for a Collar; None without either."""
    inventory: EnsembleInventory | None = parsed_result(parsed, INVENTORY)
    if inventory is None:
        return None
    if inventory.enpowers and parsed_result(parsed, RELAY) is not None:
        return RELAY
    return INVENTORY if inventory.enpowers or inventory.collars else None


def grid_status_of(parsed: Mapping[str, Any]) -> str | None:
    """Grid status from the inventory and relay alone: the cheap path of the fast grid poll."""
    return grid_status(parsed_result(parsed, INVENTORY), parsed_result(parsed, RELAY))


def _generator_endpoints(probed: Mapping[str, Any]) -> set[str]:
    config: GeneratorConfig | None = parsed_result(probed, GEN_CONFIG)
    return {GEN_CONFIG, GENERATOR, GEN_MODE} if config is not None and config.configured else set()


def _meter_endpoints(probed: Mapping[str, Any], config: MetersConfig | None) -> set[str]:
    if config is None or not config.enabled():
        return set()  # `[]` on non-metered gateways, all disabled on metered ones without CTs
    readings = parsed_result(probed, METER_READINGS)
    return {METERS, METER_READINGS} if readings is not None else {METERS}


def _production_endpoints(info: GatewayInfo, probed: Mapping[str, Any], ct_types: frozenset[str]) -> set[str]:
    reports = production_reports(probed)
    metered = _metered_report(reports, ct_types)
    if metered:
        return {metered}  # eim production and consumption both come from that report
    consumption = _first(reports, ProductionReport.consumption_active)
    return ({consumption} if consumption else set()) | _production_fallback(info, probed, reports, ct_types)


def _metered_report(reports: tuple[tuple[str, ProductionReport], ...], ct_types: frozenset[str]) -> str | None:
    active = _first(reports, lambda r: (e := r.eim_production()) is not None and e.is_active)
    if active or "production" not in ct_types:
        return active
    # A production CT with an inactive eim entry is a glitch to wait out on that report,
    # not a reason to switch to the inverter numbers (pyenphase 4.2.0).
    return _first(reports, lambda r: r.eim_production() is not None)


def _production_fallback(info, probed, reports, ct_types: frozenset[str]) -> set[str]:
    v1 = parsed_result(probed, API_V1_PRODUCTION)
    if v1_usable(info, v1, ct_types):
        return {API_V1_PRODUCTION}
    inverters = _first(reports, lambda r: r.inverters() is not None)
    if inverters:
        return {inverters}
    # Nothing better: keep waiting for numbers (firmware 3.x all zeros at boot, a new system).
    return {API_V1_PRODUCTION} if v1 is not None else set()


def _first(reports: tuple[tuple[str, ProductionReport], ...], test: Callable[[ProductionReport], bool]) -> str | None:
    return next((endpoint for endpoint, report in reports if test(report)), None)
