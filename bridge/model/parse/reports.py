"""Parsers for the per-device reports: `/api/v1/production/inverters`, `/ivp/pdm/device_data`
and `/inventory.json?deleted=1`. Typed readings only; builders/inverters.py and builders/batteries.py
decide what is published.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import EnvoyDataError
from bridge.model.parse.codec import Fields, device_groups, object_list, optional_ident, top_object

DEV_TYPE_PCU, DEV_TYPE_ACB = 1, 11  # devType of /api/v1/production/inverters
DEVICE_DATA_COUNTERS = ("deviceCount", "deviceDataLimit")  # the only non-device keys of device_data
PCU, ACB = "pcu", "acb"  # devName in device_data; the inventory says "PCU", "ACB"


@dataclass(frozen=True, slots=True)
class InverterReport:
    """One entry of `/api/v1/production/inverters`."""

    serial: str
    dev_type: int | None  # 1 microinverter, 11 AC Battery; absent on firmware 3 (all microinverters)
    last_report: int | None  # lastReportDate
    power_w: int | float | None  # lastReportWatts
    max_power_w: int | float | None  # maxReportWatts: the highest report ever

    @property
    def is_acb(self) -> bool:
        return self.dev_type == DEV_TYPE_ACB


@dataclass(frozen=True, slots=True)
class InverterReports:
    reports: tuple[InverterReport, ...]  # `[]` happens: some firmware sends it every 4 h at night


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One device of `/ivp/pdm/device_data`, from its first channel (`channels[0]`)."""

    serial: str
    kind: str | None  # devName: pcu, acb, eim, nsrb
    active: bool | None
    power_w: int | float | None  # watts.now
    max_power_w: int | float | None  # watts.max
    last_report: int | None  # lastReading.endDate
    duration_s: int | float | None  # lastReading.duration: the report's length
    joules_last_report: int | float | None  # lastReading.joulesProduced
    dc_voltage_mv: int | float | None
    dc_current_ma: int | float | None
    ac_voltage_mv: int | float | None
    ac_current_ma: int | float | None  # spelled acCurrentInmA by the gateway
    ac_frequency_mhz: int | float | None
    temperature_c: int | float | None  # channelTemp
    today_wh: int | float | None  # wattHours.today
    yesterday_wh: int | float | None  # wattHours.yesterday
    joules_lifetime: int | float | None  # lifetime.joulesProduced
    soc: int | float | None  # AC Batteries only: lastReading.SOC


@dataclass(frozen=True, slots=True)
class DeviceData:
    count: int | None  # deviceCount
    limit: int | None  # deviceDataLimit: the gateway lists at most this many devices
    devices: tuple[DeviceReading, ...]

    @property
    def complete(self) -> bool:
        """pyenphase: at the limit, devices are missing from the list, so it is not used."""
        return self.count is not None and self.limit is not None and self.count < self.limit

    def active(self, kind: str) -> tuple[DeviceReading, ...]:
        return tuple(d for d in self.devices if d.kind == kind and d.active)


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    """One device of `/inventory.json?deleted=1` (PCU, ACB, NSRB ...)."""

    kind: str  # the group's type: PCU, ACB, NSRB, ESUB
    serial: str | None
    part_number: str | None
    firmware: str | None  # img_pnum_running
    admin_state: int | None  # 0 = decommissioned (the list includes deleted devices)
    last_report: int | None  # last_rpt_date, a string of digits here
    communicating: bool | None
    producing: bool | None
    operating: bool | None
    device_status: tuple[str, ...] | None
    percent_full: int | float | None  # ACB
    max_cell_temperature_c: int | float | None  # ACB maxCellTemp
    sleep_enabled: bool | None  # ACB
    sleep_min_soc: int | float | None  # ACB
    sleep_max_soc: int | float | None  # ACB
    charge_status: str | None  # ACB: charging / discharging / idle

    @property
    def decommissioned(self) -> bool:
        return self.admin_state == 0


@dataclass(frozen=True, slots=True)
class DeviceInventory:
    devices: tuple[InventoryDevice, ...]

    def current(self, kind: str) -> tuple[InventoryDevice, ...]:
        """The devices of one type that are still part of the system and can be keyed."""
        return tuple(d for d in self.devices if d.kind == kind and d.serial and not d.decommissioned)


def parse_inverter_reports(endpoint: str, doc: object) -> InverterReports:
    return InverterReports(tuple(_inverter_report(item) for item in object_list(endpoint, doc)))


def parse_device_data(endpoint: str, doc: object) -> DeviceData:
    fields = top_object(endpoint, doc)
    devices = tuple(
        _device_reading(Fields(endpoint, key, value))
        for key, value in fields.data.items()
        if key not in DEVICE_DATA_COUNTERS and _is_device(value)
    )
    if not devices and not fields.has("deviceCount"):
        raise EnvoyDataError(f"{endpoint}: neither devices nor deviceCount in the answer")
    return DeviceData(fields.count("deviceCount"), fields.count("deviceDataLimit"), devices)


def parse_device_inventory(endpoint: str, doc: object) -> DeviceInventory:
    groups = device_groups(endpoint, doc)
    return DeviceInventory(tuple(_inventory_device(kind, device) for kind, devices in groups for device in devices))


def _is_device(value: object) -> bool:
    """Devices are objects with a serial or a device name; anything else beside the counters
    is a field a later firmware added, not a device, and must not cost every inverter."""
    return isinstance(value, dict) and ("sn" in value or "devName" in value)


def _inverter_report(fields: Fields) -> InverterReport:
    return InverterReport(
        serial=fields.ident("serialNumber"),
        dev_type=fields.count("devType"),
        last_report=fields.epoch("lastReportDate"),
        power_w=fields.number("lastReportWatts"),
        max_power_w=fields.number("maxReportWatts"),
    )


def _device_reading(fields: Fields) -> DeviceReading:
    channels = fields.objects("channels")
    channel = channels[0] if channels else Fields(fields.endpoint, fields.where("channels[0]"), {})
    watts, hours, last, lifetime = (_part(channel, key) for key in ("watts", "wattHours", "lastReading", "lifetime"))
    return DeviceReading(
        serial=fields.ident("sn"),
        kind=fields.text("devName"),
        active=fields.flag("active"),
        power_w=watts.number("now"),
        max_power_w=watts.number("max"),
        last_report=last.epoch("endDate"),
        duration_s=last.number("duration"),
        joules_last_report=last.number("joulesProduced"),
        dc_voltage_mv=last.number("dcVoltageINmV"),
        dc_current_ma=last.number("dcCurrentINmA"),
        ac_voltage_mv=last.number("acVoltageINmV"),
        ac_current_ma=last.number("acCurrentInmA"),
        ac_frequency_mhz=last.number("acFrequencyINmHz"),
        temperature_c=last.number("channelTemp"),
        today_wh=hours.number("today"),
        yesterday_wh=hours.number("yesterday"),
        joules_lifetime=lifetime.number("joulesProduced"),
        soc=last.number("SOC"),
    )


def _part(channel: Fields, key: str) -> Fields:
    """A sub-object of a channel; absent ones (`"lastReading": {}` of a gone inverter) read as empty."""
    return channel.child(key) or Fields(channel.endpoint, channel.where(key), {})


def _inventory_device(kind: str, fields: Fields) -> InventoryDevice:
    return InventoryDevice(
        kind=kind,
        serial=optional_ident(fields, "serial_num"),
        part_number=fields.text("part_num"),
        firmware=fields.text("img_pnum_running"),
        admin_state=fields.count("admin_state"),
        last_report=fields.epoch("last_rpt_date"),
        communicating=fields.flag("communicating"),
        producing=fields.flag("producing"),
        operating=fields.flag("operating"),
        device_status=fields.strings("device_status"),
        percent_full=fields.number("percentFull"),
        max_cell_temperature_c=fields.number("maxCellTemp"),
        sleep_enabled=fields.flag("sleep_enabled"),
        sleep_min_soc=fields.number("sleep_min_soc"),
        sleep_max_soc=fields.number("sleep_max_soc"),
        charge_status=fields.text("charge_status"),
    )
