"""Which endpoints are worth polling on this gateway, and the fast path of the grid poll.

Decided once from the probe (every candidate that answered) and again after a firmware
change: the poller then reads only what `select_endpoints` returns, in the registry's groups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.model.assemble import readings_of
from bridge.model.builders.flows import v1_usable
from bridge.model.builders.grid import grid_status
from bridge.model.builders.inverters import detailed_source
from bridge.model.endpoints import (
    API_V1_PRODUCTION,
    DEVICE_DATA,
    DEVICE_INVENTORY,
    DRY_CONTACT_SETTINGS,
    DRY_CONTACTS,
    ENSEMBLE_POWER,
    GEN_CONFIG,
    GEN_MODE,
    GENERATOR,
    INVENTORY,
    INVERTERS,
    LIVE_DATA,
    METER_READINGS,
    METERS,
    REGISTRY,
    RELAY,
    SECCTRL,
    TARIFF,
    Endpoint,
    parsed_result,
    production_reports,
)
from bridge.model.parse.info import GatewayInfo
from bridge.model.parse.meters import MetersConfig
from bridge.model.parse.production import ProductionReport
from bridge.model.parse.reports import ACB

Reports = tuple[tuple[str, ProductionReport], ...]  # (path, report), best first


def candidate_endpoints(info: GatewayInfo) -> tuple[str, ...]:
    """What to probe on this gateway, in probe order: every registered endpoint, but those of
    token firmware only on token firmware."""
    return tuple(e.path for e in REGISTRY if info.uses_token_auth or not e.token_only)


def select_endpoints(info: GatewayInfo, probed: Mapping[str, object]) -> set[str]:
    """The endpoints (paths) worth polling on this gateway, given every candidate that answered."""
    config = parsed_result(probed, METERS)
    ct_types = config.enabled_types() if config else frozenset()
    chosen = _meter_endpoints(probed, config) | _production_endpoints(info, probed, ct_types)
    chosen |= _acb_report(probed, chosen) | _inverter_endpoints(probed) | _ensemble_endpoints(probed)
    chosen |= _live_endpoint(info, probed, ct_types)
    tariff = parsed_result(probed, TARIFF)
    if tariff is not None and tariff.storage is not None and readings_of(probed).has_batteries:
        chosen.add(TARIFF.path)
    return chosen


def grid_endpoint(parsed: Mapping[str, object]) -> str | None:
    """The cheapest endpoint that reports the grid relay on this gateway, for the fast grid poll:
    the Enpower's relay (187 bytes), else the inventory for a Collar; None without either."""
    inventory = parsed_result(parsed, INVENTORY)
    if inventory is None:
        return None
    if inventory.enpowers and parsed_result(parsed, RELAY) is not None:
        return RELAY.path
    return INVENTORY.path if inventory.enpowers or inventory.collars else None


def grid_status_of(parsed: Mapping[str, object]) -> str | None:
    """Grid status from the inventory, the relay and the live data's main relay alone: the
    cheap path of the fast grid and live polls."""
    live = parsed_result(parsed, LIVE_DATA)
    main_relay = live.main_relay_state if live is not None else None
    return grid_status(parsed_result(parsed, INVENTORY), parsed_result(parsed, RELAY), main_relay)


def batteries_or_controller(parsed: Mapping[str, object]) -> bool:
    """Batteries or an IQ System Controller: power flows that move fast and a grid relay whose
    opening must show at once, so the live group defaults to every second there."""
    readings = readings_of(parsed)
    return readings.has_batteries or readings.has_system_controller


def _live_endpoint(info: GatewayInfo, probed: Mapping[str, object], ct_types: frozenset[str]) -> set[str]:
    """Live data are the CTs' samples and the Ensemble's battery and relay states: without either
    the gateway answers zeros with last_update 0 (reference §2.1), so it is read only where it has
    CTs or Ensemble devices, as Homebridge does; and only on token firmware, which has it."""
    inventory = parsed_result(probed, INVENTORY)
    ensemble = inventory is not None and inventory.has_devices
    return _answered(probed, {LIVE_DATA}) if info.uses_token_auth and (ct_types or ensemble) else set()


def _acb_report(probed: Mapping[str, object], chosen: set[str]) -> set[str]:
    """AC Batteries are reported only in storage[] of the production report: keep one."""
    with_acb = [path for path, report in production_reports(probed) if report.acb_storage() is not None]
    return set() if not with_acb or chosen & set(with_acb) else {with_acb[0]}


def _inverter_endpoints(probed: Mapping[str, object]) -> set[str]:
    device_data = parsed_result(probed, DEVICE_DATA)
    v1 = parsed_result(probed, INVERTERS)
    chosen = {DEVICE_DATA.path} if detailed_source(device_data) else ({INVERTERS.path} if v1 is not None else set())
    detailed = {d.serial for d in device_data.active(ACB)} if device_data else set()
    if v1 is not None and any(r.is_acb and r.serial not in detailed for r in v1.reports):
        chosen.add(INVERTERS.path)  # some AC Batteries' power and report time are only there
    inventory = parsed_result(probed, DEVICE_INVENTORY)
    if inventory is not None and (inventory.current("ACB") or inventory.current("PCU")):
        chosen.add(DEVICE_INVENTORY.path)
    return chosen


def _ensemble_endpoints(probed: Mapping[str, object]) -> set[str]:
    inventory = parsed_result(probed, INVENTORY)
    wanted: set[Endpoint[Any]] = set()
    if any(r.acb_storage() is not None for _, r in production_reports(probed)):
        wanted.add(SECCTRL)  # the combined IQ + AC Battery numbers, even without Ensemble devices
    if inventory is None or not inventory.has_devices:  # `[]` on gateways without Ensemble devices
        return _answered(probed, wanted)
    wanted.add(INVENTORY)
    # The relay endpoint reads "closed" on every gateway; it only means something with an Enpower.
    if inventory.enpowers:
        wanted |= {RELAY, DRY_CONTACTS, DRY_CONTACT_SETTINGS, *_generator_endpoints(probed)}
    if inventory.encharges:
        wanted |= {SECCTRL, ENSEMBLE_POWER}
    return _answered(probed, wanted)


def _answered(probed: Mapping[str, object], wanted: set[Endpoint[Any]]) -> set[str]:
    return {endpoint.path for endpoint in wanted if parsed_result(probed, endpoint) is not None}


def _generator_endpoints(probed: Mapping[str, object]) -> set[Endpoint[Any]]:
    config = parsed_result(probed, GEN_CONFIG)
    return {GEN_CONFIG, GENERATOR, GEN_MODE} if config is not None and config.configured else set()


def _meter_endpoints(probed: Mapping[str, object], config: MetersConfig | None) -> set[str]:
    if config is None or not config.enabled():
        return set()  # `[]` on non-metered gateways, all disabled on metered ones without CTs
    readings = parsed_result(probed, METER_READINGS)
    return {METERS.path, METER_READINGS.path} if readings is not None else {METERS.path}


def _production_endpoints(info: GatewayInfo, probed: Mapping[str, object], ct_types: frozenset[str]) -> set[str]:
    reports = production_reports(probed)
    metered = _metered_report(reports, ct_types)
    if metered:
        return {metered}  # eim production and consumption both come from that report
    consumption = _first(reports, ProductionReport.consumption_active)
    return ({consumption} if consumption else set()) | _production_fallback(info, probed, reports, ct_types)


def _metered_report(reports: Reports, ct_types: frozenset[str]) -> str | None:
    active = _first(reports, lambda r: (e := r.eim_production()) is not None and e.is_active)
    if active or "production" not in ct_types:
        return active
    # A production CT with an inactive eim entry is a glitch to wait out on that report,
    # not a reason to switch to the inverter numbers (pyenphase 4.2.0).
    return _first(reports, lambda r: r.eim_production() is not None)


def _production_fallback(
    info: GatewayInfo, probed: Mapping[str, object], reports: Reports, ct_types: frozenset[str]
) -> set[str]:
    v1 = parsed_result(probed, API_V1_PRODUCTION)
    if v1_usable(info, v1, ct_types):
        return {API_V1_PRODUCTION.path}
    inverters = _first(reports, lambda r: r.inverters() is not None)
    if inverters:
        return {inverters}
    # Nothing better: keep waiting for numbers (firmware 3.x all zeros at boot, a new system).
    return {API_V1_PRODUCTION.path} if v1 is not None else set()


def _first(reports: Reports, test: Callable[[ProductionReport], bool]) -> str | None:
    return next((path for path, report in reports if test(report)), None)
