"""Scenario definitions of the living simulator: small YAML files the project writes itself.

A scenario says what the simulated system IS (serial, firmware, CTs, phases, inverters,
batteries, an IQ System Controller, the shape of the house load, how its cloud answers); the
physics computes what it DOES at any moment. Built-in scenarios live in `scenarios/<name>.yaml`;
a path to any YAML file with the same keys works too. Unknown keys are refused, so a typo never
goes unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from bridge.simulator.cloudreplies import check_failure, check_mode

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Section = TypeVar("Section", bound="DataclassInstance")

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
CT_TYPES = ("production", "net-consumption", "total-consumption", "storage")
BATTERY_KINDS = ("encharge", "acb")
STORAGE_MODES = ("backup", "self-consumption", "economy", "savings-mode")
RELAY_IDS = ("NC1", "NC2", "NO1", "NO2")  # the dry contacts real systems expose (reference §1.3.1)
LIVEDATA_WHEN_DISABLED = ("frozen", "live")
# How /auth/check_jwt answers (firmware differ): GET and POST, one of them only (405 to the
# other), or not at all (404; data endpoints then take the bearer token itself).
CHECK_JWT_MODES = ("any", "get", "post", "absent")


@dataclass(frozen=True)
class Peak:
    """A bump of house load: `w` watts at local hour `at`, gaussian of `width` hours."""

    at: float
    w: float
    width: float = 1.0


@dataclass(frozen=True)
class Pv:
    inverters: int = 12
    inverter_w: float = 300.0  # what one microinverter delivers in full sun
    sunrise: float = 6.5  # local hours
    sunset: float = 19.5
    clouds: float = 0.25  # 0 = clear sky, 1 = passing clouds can take everything
    serial_prefix: str = "4822430"


@dataclass(frozen=True)
class Load:
    base_w: float = 300.0
    noise_w: float = 350.0  # appliances switching on and off
    peaks: tuple[Peak, ...] = (Peak(7.5, 1200, 0.8), Peak(12.5, 500, 0.8), Peak(19.0, 1800, 1.5))
    phase_share: tuple[float, ...] = ()  # how the load splits over phases; even when empty


@dataclass(frozen=True)
class Battery:
    units: int = 3
    capacity_wh: float = 5000.0  # IQ Battery 5P
    max_power_w: float = 3840.0  # continuous, per unit
    reserve_soc: float = 20.0  # kept for outages while on grid
    very_low_soc: float = 5.0  # never discharged below, even off grid
    initial_soc: float = 50.0  # seven days before the simulation starts
    efficiency: float = 0.95  # charging losses
    storage_mode: str = "self-consumption"  # as configured in the cloud: backup, self-consumption, economy
    serial_prefix: str = "4822350"
    part_num: str = "836-01826-r76"
    kind: str = "encharge"  # "encharge" (IQ Batteries) or "acb" (AC Batteries: no backup, no ensemble)


@dataclass(frozen=True)
class Cloud:
    """How the fake Enphase cloud behaves from the start: a global mode, and a failure per flow
    (names in cloud.py and cloudreplies.py), e.g. {"entrez_json": "gone"}."""

    mode: str = "ok"
    failures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    serial: str = "999000000001"
    firmware: str = "8.2.4382"
    firmware_update_to: str = ""  # empty: the last number goes up by one
    part_number: str = "800-00654-r08"
    metered: bool = True
    cts: tuple[str, ...] = ("production", "net-consumption")
    phases: int = 2
    phase_mode: str = "split"  # single / split / three
    voltage: float = 120.0  # per phase, line to neutral
    frequency: float = 60.0
    timezone: str = "local"  # "local", "UTC", "+02:00" or an IANA name
    pv: Pv = Pv()
    load: Load = Load()
    battery: Battery | None = None
    cloud: Cloud = Cloud()
    enpower_serial: str = ""  # an IQ System Controller (grid relay) when set
    relay_loads: dict[str, float] = field(default_factory=dict)  # dry-contact id -> share of the house load it feeds
    generator: bool = False  # a standby generator: /ivp/ss/gen_mode is served
    lifetime_production_wh: float = 15_000_000.0  # counters seven days before the start
    lifetime_consumption_wh: float = 20_000_000.0
    lifetime_import_wh: float = 11_000_000.0  # export follows: production + import + battery = load
    nightly_hiccup_minutes: float = 5.0  # the gateway's own reset at 23:00 local; 0 = never
    livedata: bool = True  # /ivp/livedata/* on firmware 7+; false: 404, as a PV-only gateway
    livedata_stream_timeout_s: float = 300.0  # REAL seconds a stream stays on after enabling; 0 = until disabled
    livedata_when_disabled: str = "frozen"  # "frozen": meters stay at the last sample; "live": they move on
    check_jwt: str = "any"  # one of CHECK_JWT_MODES
    seed: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # room for later keys, kept verbatim

    @property
    def installed_battery(self) -> Battery | None:
        """The battery section when it has units; None without one or with `units: 0`."""
        return self.battery if self.battery is not None and self.battery.units > 0 else None

    @property
    def has_battery(self) -> bool:
        return self.installed_battery is not None

    @property
    def encharge(self) -> Battery | None:
        """The installed batteries when they are IQ Batteries (the ensemble's ENCHARGE)."""
        battery = self.installed_battery
        return battery if battery is not None and battery.kind == "encharge" else None

    @property
    def acb(self) -> Battery | None:
        """The installed batteries when they are AC Batteries (production.json's storage)."""
        battery = self.installed_battery
        return battery if battery is not None and battery.kind == "acb" else None

    @property
    def has_enpower(self) -> bool:
        return bool(self.enpower_serial)

    @property
    def can_island(self) -> bool:
        """IQ Batteries plus an IQ System Controller keep the house powered in an outage;
        anything else (AC Batteries give no backup) goes dark with the grid, gateway included."""
        return self.encharge is not None and self.has_enpower


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a YAML file by path; ValueError says what is wrong."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIOS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ValueError(f"unknown scenario {name_or_path!r}; built-in: {', '.join(builtin_names())}")
    try:
        text = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read scenario {path}: {err}") from err
    data = _mapping(text, f"scenario {path}: expected a mapping at the top")
    data.setdefault("name", path.stem)
    return scenario_from_dict(data, str(path))


def scenario_from_dict(data: dict[str, Any], where: str = "scenario") -> Scenario:
    data = dict(data)
    data["pv"] = _section(Pv, data.get("pv"), f"{where}: pv")
    data["load"] = _load(data.get("load"), f"{where}: load")
    if data.get("battery") is not None:
        data["battery"] = _section(Battery, data["battery"], f"{where}: battery")
    data["cts"] = tuple(data.get("cts", Scenario.cts))
    data["cloud"] = _cloud(data.get("cloud"), f"{where}: cloud")
    for key in ("serial", "firmware", "firmware_update_to", "enpower_serial", "part_number", "check_jwt"):
        if key in data and data[key] is not None:
            data[key] = str(data[key])
    scenario = _section(Scenario, data, where)
    _validate(scenario, where)
    return scenario


def _mapping(data: object, refusal: str) -> dict[str, Any]:
    # A scenario's shape is the author's value to fix: ValueError, like every other problem.
    if isinstance(data, dict):
        return data
    raise ValueError(refusal)


def _section(cls: type[Section], data: object, where: str) -> Section:
    mapping = _mapping(data or {}, f"{where}: expected a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return cls(**mapping)


def _load(data: object, where: str) -> Load:
    data = dict(_mapping(data or {}, f"{where}: expected a mapping"))
    if "peaks" in data:
        data["peaks"] = tuple(_section(Peak, p, f"{where}.peaks") for p in data["peaks"] or ())
    if "phase_share" in data:
        data["phase_share"] = tuple(float(x) for x in data["phase_share"] or ())
    return _section(Load, data, where)


def _cloud(data: object, where: str) -> Cloud:
    cloud = _section(Cloud, data, where)
    failures = _mapping(cloud.failures or {}, f"{where}.failures: expected a mapping of flow: failure")
    try:
        check_mode(str(cloud.mode))
        for flow, failure in failures.items():
            check_failure(str(flow), str(failure))
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return Cloud(str(cloud.mode), {str(flow): str(failure) for flow, failure in failures.items()})


def _relay_problems(loads: object) -> list[str]:
    if not isinstance(loads, dict):
        return ["relay_loads must map relay ids to shares"]
    shares = list(loads.values())
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in shares)
    if set(loads) - set(RELAY_IDS) or not numeric or (numeric and sum(shares) > 1):
        return [f"relay_loads: ids among {', '.join(RELAY_IDS)}, shares 0..1 summing to at most 1"]
    return []


def _validate(s: Scenario, where: str) -> None:
    problems = []
    if not (s.serial.isdigit() and len(s.serial) == 12):
        problems.append("serial must be 12 digits")
    if s.phases not in (1, 2, 3) or s.phase_mode not in ("single", "split", "three"):
        problems.append("phases must be 1..3 and phase_mode single, split or three")
    if any(ct not in CT_TYPES for ct in s.cts):
        problems.append(f"cts must be among {', '.join(CT_TYPES)}")
    if s.cts and not s.metered:
        problems.append("a standard (metered: false) gateway has no CTs")
    if not 0 <= s.pv.sunrise < s.pv.sunset <= 24:
        problems.append("pv: need 0 <= sunrise < sunset <= 24")
    if s.load.phase_share and len(s.load.phase_share) != s.phases:
        problems.append("load.phase_share needs one share per phase")
    if s.battery is not None and not 0 <= s.battery.very_low_soc <= s.battery.reserve_soc <= 100:
        problems.append("battery: need 0 <= very_low_soc <= reserve_soc <= 100")
    if s.battery is not None and s.battery.kind not in BATTERY_KINDS:
        problems.append(f"battery: kind must be {' or '.join(BATTERY_KINDS)}")
    if s.battery is not None and s.battery.storage_mode not in STORAGE_MODES:
        problems.append(f"battery: storage_mode must be one of {', '.join(STORAGE_MODES)}")
    problems += _relay_problems(s.relay_loads)
    timeout = s.livedata_stream_timeout_s
    if s.livedata_when_disabled not in LIVEDATA_WHEN_DISABLED or not isinstance(timeout, (int, float)) or timeout < 0:
        problems.append("livedata_when_disabled must be frozen or live, livedata_stream_timeout_s >= 0")
    if s.check_jwt not in CHECK_JWT_MODES:
        problems.append(f"check_jwt must be one of {', '.join(CHECK_JWT_MODES)}")
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems))
