"""The gateway's own Home Assistant entities: production, consumption, net and grid flows,
batteries and storage settings, the energy the bridge computes, every CT meter, the live data,
and the bridge's diagnostics.

Keys follow Home Assistant's own enphase_envoy integration where it has one, so users find the
same entities. An entity exists exactly when its value is in the gateway's state document
(`entities_for`); the units' entities are in devices.py.
"""

from __future__ import annotations

from bridge.homeassistant.entities import (
    Document,
    Entity,
    energy,
    enum,
    flag,
    has_value,
    percentage,
    phase_variants,
    power,
    setting,
    state_flag,
    stored_energy,
    text,
    timestamp,
)


def _flow_entities(section: str, noun: str) -> list[Entity]:
    """production / consumption: power, today, last seven days, lifetime, and per phase."""
    base = [
        power(noun, (section, "power_w"), f"Current power {noun}"),
        energy(f"daily_{noun}", (section, "energy_today_wh"), f"Energy {noun} today"),
        energy(
            f"seven_days_{noun}", (section, "energy_last_7_days_wh"), f"Energy {noun} last seven days", state_class=None
        ),
        energy(f"lifetime_{noun}", (section, "energy_lifetime_wh"), f"Lifetime energy {noun}"),
    ]
    return base + phase_variants(base)


NET_ENTITIES = [
    power("balanced_net_consumption", ("net_consumption", "power_w"), "Balanced net power consumption", enabled=False),
    # The net counter can go down (export), so it is `total`, not `total_increasing`.
    energy(
        "lifetime_balanced_net_consumption",
        ("net_consumption", "energy_lifetime_wh"),
        "Lifetime balanced net energy consumption",
        state_class="total",
        enabled=False,
    ),
]

GRID_ENTITIES = [
    Entity(
        "grid_status",
        ("grid", "status"),
        "Grid status",
        device_class="power",
        component="binary_sensor",
        extra={"payload_on": "on_grid", "payload_off": "off_grid"},
    ),
    power("grid_import_power", ("grid", "import_power_w"), "Grid import power"),
    power("grid_export_power", ("grid", "export_power_w"), "Grid export power"),
    # Keys as in Home Assistant's integration: these are the Energy dashboard's grid counters.
    energy("lifetime_net_consumption", ("grid", "energy_imported_wh"), "Lifetime grid energy import"),
    energy("lifetime_net_production", ("grid", "energy_exported_wh"), "Lifetime grid energy export"),
]

STORAGE_MODES = ("backup", "self-consumption", "economy")
BATTERY_ENTITIES = [
    # IQ Batteries together (secctrl)
    percentage("battery_level", ("battery", "soc_pct"), "Battery"),
    percentage("reserve_soc", ("battery", "reserve_soc_pct"), "Reserve battery level"),
    stored_energy("available_energy", ("battery", "available_energy_wh"), "Available battery energy"),
    stored_energy("reserve_energy", ("battery", "reserve_energy_wh"), "Reserve battery energy"),
    stored_energy("max_capacity", ("battery", "capacity_wh"), "Battery capacity"),
    power("battery_power", ("battery", "power_w"), "Battery power"),
    percentage(
        "battery_health", ("battery", "health_pct"), "Battery health", device_class=None, enabled=False, diagnostic=True
    ),
    # IQ and AC Batteries together
    percentage("aggregated_soc", ("battery_combined", "soc_pct"), "Aggregated battery SOC"),
    stored_energy(
        "aggregated_available_energy",
        ("battery_combined", "available_energy_wh"),
        "Aggregated available battery energy",
    ),
    stored_energy(
        "aggregated_max_battery_capacity", ("battery_combined", "capacity_wh"), "Aggregated battery capacity"
    ),
    stored_energy("acb_available_energy", ("acb", "available_energy_wh"), "ACB available energy"),
    # Storage settings, read only (Home Assistant's integration has controls for them)
    enum("storage_mode", ("storage_settings", "mode"), "Storage mode", STORAGE_MODES),
    flag("charge_from_grid", ("storage_settings", "charge_from_grid"), "Charge from grid"),
    setting("storage_reserve_soc", ("storage_settings", "reserve_soc_pct"), "Reserve battery level setting"),
    setting(
        "very_low_soc",
        ("storage_settings", "very_low_soc_pct"),
        "Very low battery level",
        diagnostic=True,
        enabled=False,
    ),
    text("storage_sub_mode", ("storage_settings", "sub_mode"), "Storage sub-mode", diagnostic=True, enabled=False),
]

# The counters the bridge integrates itself where the gateway has none (docs/mqtt.md,
# `computed_energy`): the Energy dashboard's battery and grid sources on gateways without the CT.
COMPUTED_ENTITIES = [
    energy(
        "computed_battery_charged",
        ("computed_energy", "battery_charged_wh"),
        "Battery energy charged (computed)",
    ),
    energy(
        "computed_battery_discharged",
        ("computed_energy", "battery_discharged_wh"),
        "Battery energy discharged (computed)",
    ),
    energy("computed_grid_import", ("computed_energy", "grid_imported_wh"), "Grid energy import (computed)"),
    energy("computed_grid_export", ("computed_energy", "grid_exported_wh"), "Grid energy export (computed)"),
]

# Per CT type: key prefix, and the special keys Home Assistant uses for some measures.
METER_SPECIAL_KEYS: dict[str, dict[str, str | None]] = {
    "net_consumption": {
        "power_w": "net_consumption",
        "frequency_hz": "frequency",
        "voltage_v": "voltage",
        "current_a": "net_ct_current",
        "power_factor": "net_ct_powerfactor",
        "metering_status": "net_consumption_ct_metering_status",
        "status_flag_count": "net_consumption_ct_status_flags",
        # grid import/export energy are the GRID_ENTITIES above
        "energy_delivered_wh": None,
        "energy_received_wh": None,
    },
    "storage": {
        "power_w": "battery_discharge",
        "energy_delivered_wh": "lifetime_battery_discharged",
        "energy_received_wh": "lifetime_battery_charged",
        "voltage_v": "storage_voltage",
    },
}
METER_MEASURES = (
    # field, key suffix, label, unit, device_class, state_class, enabled, diagnostic
    ("power_w", "power", "power", "W", "power", "measurement", True, False),
    ("energy_delivered_wh", "energy_delivered", "energy delivered", "Wh", "energy", "total_increasing", True, False),
    ("energy_received_wh", "energy_received", "energy received", "Wh", "energy", "total_increasing", True, False),
    ("voltage_v", "voltage", "voltage", "V", "voltage", "measurement", False, False),
    ("current_a", "current", "current", "A", "current", "measurement", False, False),
    ("frequency_hz", "frequency", "frequency", "Hz", "frequency", "measurement", False, False),
    ("power_factor", "powerfactor", "power factor", None, "power_factor", "measurement", False, False),
    ("metering_status", "metering_status", "metering status", None, "enum", None, False, True),
    ("status_flag_count", "status_flags", "status flags", None, None, None, False, True),
)
METERING_STATUS_OPTIONS = ["normal", "not-metering", "check-wiring"]
# Home Assistant's names where "<CT> energy received" would hide what the value is for.
METER_NAMES = {
    "net_consumption": "Current net power consumption",
    "battery_discharge": "Current battery discharge",
    "lifetime_battery_discharged": "Lifetime battery energy discharged",
    "lifetime_battery_charged": "Lifetime battery energy charged",
}


def meter_entities(meter: str) -> list[Entity]:
    special = METER_SPECIAL_KEYS.get(meter, {})
    prefix = "production_ct" if meter == "production" else f"{meter}_ct"
    label = meter.replace("_", " ").capitalize() + " CT"
    base = []
    for fld, suffix, what, unit, dclass, sclass, enabled, diag in METER_MEASURES:
        key = special.get(fld, f"{prefix}_{suffix}")
        if key is None:
            continue
        extra = {"options": METERING_STATUS_OPTIONS} if fld == "metering_status" else {}
        name = METER_NAMES.get(key, f"{label} {what}")
        base.append(
            Entity(
                key, ("meters", meter, fld), name, unit, dclass, sclass, enabled=enabled, diagnostic=diag, extra=extra
            )
        )
    return base + phase_variants(base)


GATEWAY_ENTITIES = (
    _flow_entities("production", "production")
    + _flow_entities("consumption", "consumption")
    + NET_ENTITIES
    + GRID_ENTITIES
    + BATTERY_ENTITIES
    + COMPUTED_ENTITIES
)


# The live data, from `<base>/<serial>/live`, on the gateway device. "Live" in the names: the
# meters give values of the same names (production, battery power ...) every few seconds more.
LIVE_ENTITIES = [
    power("live_pv_power", ("pv_power_w",), "Live PV power"),
    power("live_grid_power", ("grid_power_w",), "Live grid power"),  # + import / - export
    power("live_load_power", ("load_power_w",), "Live load power"),
    power("live_battery_power", ("storage_power_w",), "Live battery power"),  # + discharging
    power("live_generator_power", ("generator_power_w",), "Live generator power"),
    percentage("live_encharge_soc", ("encharge_soc_pct",), "Live Encharge battery level"),
    percentage("live_acb_soc", ("acb_soc_pct",), "Live ACB battery level"),
    state_flag("main_relay", ("main_relay",), "Main relay", on="closed", off="open"),
]


# The bridge's own view of the gateway, from `<base>/<serial>/diagnostics`, on the gateway device.
DIAGNOSTIC_ENTITIES = [
    timestamp("token_expires", ("token_expires",), "Token expiry", diagnostic=True),
    Entity("token_days_left", ("token_days_left",), "Token days left", "d", "duration", "measurement", diagnostic=True),
    Entity(
        "token_renewal_problem",
        ("token_renewal_error",),
        "Token renewal",
        device_class="problem",
        component="binary_sensor",
        diagnostic=True,
        extra={"value_template": "{{ 'OFF' if value_json.get('token_renewal_error') is none else 'ON' }}"},
    ),
    text("token_type", ("token_type",), "Token type", diagnostic=True),  # owner or installer
    text("token_source", ("token_source",), "Token source", diagnostic=True),  # config, cache, cloud, import
    timestamp("last_poll", ("last_poll",), "Last successful poll", diagnostic=True),
    Entity("poll_duration", ("poll_duration_s",), "Poll duration", "s", "duration", "measurement", diagnostic=True),
    # Energy counter values the counter guard held back since the bridge started (bridge/model/guard.py).
    Entity(
        "counter_glitches", ("counter_glitches",), "Counter glitches", state_class="total_increasing", diagnostic=True
    ),
    # Intervals the computed energy counters skipped (no sample for longer than energy.max_gap_s).
    Entity(
        "computed_energy_gaps",
        ("computed_energy_gaps",),
        "Computed energy gaps",
        state_class="total_increasing",
        diagnostic=True,
    ),
    text("firmware", ("firmware",), "Firmware version", diagnostic=True),
    text("bridge_version", ("bridge_version",), "Bridge version", diagnostic=True),
]


# The system's values from the Enphase cloud API, from `<base>/<serial>/cloud`, on the gateway
# device: "Cloud" in the names, own statistics (never the local counters), their own times.
CLOUD_ENTITIES = [
    power("cloud_production_power", ("production", "power_w"), "Cloud production power"),
    energy("cloud_daily_production", ("production", "energy_today_wh"), "Cloud energy production today"),
    energy("cloud_lifetime_production", ("production", "energy_lifetime_wh"), "Cloud lifetime energy production"),
    power("cloud_consumption_power", ("consumption", "power_w"), "Cloud consumption power"),
    energy("cloud_daily_consumption", ("consumption", "energy_today_wh"), "Cloud energy consumption today"),
    percentage("cloud_battery_level", ("battery", "soc_pct"), "Cloud battery level"),
    power("cloud_battery_power", ("battery", "power_w"), "Cloud battery power"),
    text("cloud_system_status", ("system_status",), "Cloud system status"),  # normal, comm, power ...
    timestamp("cloud_last_report", ("last_report_at",), "Cloud last report"),
    Entity("cloud_data_age", ("age_s",), "Cloud data age", "s", "duration", "measurement", diagnostic=True),
    text("cloud_api_status", ("source_status",), "Cloud API status", diagnostic=True),  # ok, needs_authorize ...
    text("cloud_api_problem", ("source_problem",), "Cloud API problem", diagnostic=True),
    Entity("cloud_api_calls_month", ("calls_month",), "Cloud API calls this month", diagnostic=True),
]


def entities_for(payload: Document) -> list[Entity]:
    """Every gateway entity whose value is present in this state payload."""
    candidates = list(GATEWAY_ENTITIES)
    for meter in payload.get("meters", {}):
        candidates += meter_entities(meter)
    return [e for e in candidates if has_value(payload, e.path)]
