"""Where endpoint paths meet the builders: the latest parsed result of every polled endpoint,
looked up through the registry, becomes the typed `Readings` that builders/ turns into a state.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.model.builders.live import LiveDocument, build_live
from bridge.model.builders.state import GatewayState, gateway_state
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
    RELAY,
    SECCTRL,
    TARIFF,
    parsed_result,
    production_reports,
)
from bridge.model.parse.info import GatewayInfo
from bridge.model.parse.readings import Readings


def build_state(info: GatewayInfo, parsed: Mapping[str, object], polled_at: float) -> GatewayState:
    """One snapshot from the latest parsed result of every polled endpoint (path -> reading).

    Raises EnvoyDataError when nothing usable is left, and its subclass
    EnvoyPoorDataQuality when firmware 3.x sends its all-zero boot data.
    """
    return gateway_state(info, readings_of(parsed), polled_at)


def live_document(parsed: Mapping[str, object], read_at: float) -> LiveDocument | None:
    """The `{base}/{serial}/live` document of the latest live reading; None without one."""
    return build_live(readings_of(parsed), read_at)


def readings_of(parsed: Mapping[str, object]) -> Readings:
    """The typed view of path -> reading; a reading of the wrong type counts as absent."""
    return Readings(
        meters=parsed_result(parsed, METERS),
        meter_readings=parsed_result(parsed, METER_READINGS),
        reports=tuple(report for _, report in production_reports(parsed)),
        api_v1=parsed_result(parsed, API_V1_PRODUCTION),
        device_data=parsed_result(parsed, DEVICE_DATA),
        inverter_reports=parsed_result(parsed, INVERTERS),
        inventory=parsed_result(parsed, INVENTORY),
        relay=parsed_result(parsed, RELAY),
        secctrl=parsed_result(parsed, SECCTRL),
        ensemble_power=parsed_result(parsed, ENSEMBLE_POWER),
        device_inventory=parsed_result(parsed, DEVICE_INVENTORY),
        tariff=parsed_result(parsed, TARIFF),
        dry_contacts=parsed_result(parsed, DRY_CONTACTS),
        dry_contact_settings=parsed_result(parsed, DRY_CONTACT_SETTINGS),
        generator=parsed_result(parsed, GENERATOR),
        generator_config=parsed_result(parsed, GEN_CONFIG),
        generator_mode=parsed_result(parsed, GEN_MODE),
        live=parsed_result(parsed, LIVE_DATA),
    )
