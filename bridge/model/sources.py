"""Which endpoints the model reads, how each is parsed, and which are worth polling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from bridge.model.flows import v1_usable
from bridge.model.grid import EnsembleInventory, RelayState, parse_inventory, parse_relay
from bridge.model.info import GatewayInfo
from bridge.model.meters import MeterReadings, MetersConfig, parse_meter_readings, parse_meters
from bridge.model.production import ApiV1Production, ProductionReport, parse_api_v1_production, parse_production_report

METERS = "/ivp/meters"
METER_READINGS = "/ivp/meters/readings"
PRODUCTION_JSON = "/production.json?details=1"
PRODUCTION = "/production"  # same JSON without lines, older firmware; slow (3-11 s)
API_V1_PRODUCTION = "/api/v1/production"
INVENTORY = "/ivp/ensemble/inventory"
RELAY = "/ivp/ensemble/relay"

# pyenphase's probe order: meters first (they decide the phase count and whether the
# production CT exists), then the production reports from best to last resort, then grid.
CANDIDATE_ENDPOINTS: tuple[str, ...] = (
    METERS,
    METER_READINGS,
    PRODUCTION_JSON,
    PRODUCTION,
    API_V1_PRODUCTION,
    INVENTORY,
    RELAY,
)

ENDPOINTS: dict[str, Callable[[object], Any]] = {
    METERS: partial(parse_meters, METERS),
    METER_READINGS: partial(parse_meter_readings, METER_READINGS),
    PRODUCTION_JSON: partial(parse_production_report, PRODUCTION_JSON),
    PRODUCTION: partial(parse_production_report, PRODUCTION),
    API_V1_PRODUCTION: partial(parse_api_v1_production, API_V1_PRODUCTION),
    INVENTORY: partial(parse_inventory, INVENTORY),
    RELAY: partial(parse_relay, RELAY),
}

# The parsed type each endpoint must have; anything else in a mapping is treated as absent.
RESULT_TYPES: dict[str, type] = {
    METERS: MetersConfig,
    METER_READINGS: MeterReadings,
    PRODUCTION_JSON: ProductionReport,
    PRODUCTION: ProductionReport,
    API_V1_PRODUCTION: ApiV1Production,
    INVENTORY: EnsembleInventory,
    RELAY: RelayState,
}


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
    inventory: EnsembleInventory | None = parsed_result(probed, INVENTORY)
    if inventory is not None and inventory.has_grid_device:
        chosen.add(INVENTORY)
        # The relay endpoint reads "closed" on every gateway; it only means something with an Enpower.
        if inventory.enpowers and parsed_result(probed, RELAY) is not None:
            chosen.add(RELAY)
    return chosen


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
