"""`GET /ivp/livedata/status`: the gateway's live power flows, battery levels and relay states,
and the answer to `POST /ivp/livedata/stream` (reference §2.1-2.2).

Powers arrive as signed integers in mW (storage negative = charging, grid positive = import)
and leave here as W; levels are integer %, energies integer Wh, `last_update` Unix seconds. A
field that is not an integer in its range is left out and named in `dropped`, so the worker
says so once while the rest flows: one odd battery level must not hide the powers. Missing or
null means "not reported", as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import EnvoyDataError
from bridge.model.parse.codec import Fields, top_object

# The gateway's integers are 32-bit: anything beyond is a glitch, not a reading (2.1 MW).
INT32_MAX = 2**31 - 1
PERCENT = (0, 100)
SIGNED = (-INT32_MAX, INT32_MAX)
UNSIGNED = (0, INT32_MAX)
PHASE_KEYS = ("agg_p_ph_a_mw", "agg_p_ph_b_mw", "agg_p_ph_c_mw")  # unused phases read 0
MAX_PHASES = len(PHASE_KEYS)
MAX_TEXT = 32  # `sc_stream` is "enabled" or "disabled": a long text is not a state


@dataclass(frozen=True, slots=True)
class LiveMeter:
    """One `MeterResult`: active power in W, in total and per phase (a, b, c)."""

    power_w: float | None
    phases_w: tuple[float | None, ...] = ()  # () on early 7.x firmware, which has no per-phase keys


@dataclass(frozen=True, slots=True)
class LiveData:
    """`/ivp/livedata/status` (GET). Signs as the gateway's: storage + discharging, grid + import."""

    sc_stream: str | None  # connection.sc_stream: "enabled" / "disabled"
    last_update: int | None  # Unix s of the last meter sample; None when 0 (never sampled)
    pv: LiveMeter | None = None
    storage: LiveMeter | None = None
    grid: LiveMeter | None = None
    load: LiveMeter | None = None
    generator: LiveMeter | None = None
    soc_pct: int | None = None  # meters.soc: every battery together
    backup_soc_pct: int | None = None  # backup_soc: the reserve kept for outages
    encharge_soc_pct: int | None = None  # enc_agg_soc: IQ Batteries (Encharge)
    encharge_energy_wh: int | None = None  # enc_agg_energy
    acb_soc_pct: int | None = None  # acb_agg_soc: AC Batteries
    acb_energy_wh: int | None = None  # acb_agg_energy
    main_relay_state: int | None = None  # 1 closed (on grid), 0 open, 13 no system controller
    gen_relay_state: int | None = None  # meaning unknown (5 on most systems): passed on raw
    phase_count: int | None = None  # absent on early 7.x; 0 seen on a split-phase system
    split_phase: bool | None = None  # is_split_phase
    dropped: tuple[str, ...] = ()  # the fields left out, and why: one log line for the worker


class _Reader:
    """Reads fields the lenient way of this endpoint: a bad one is noted and left out."""

    def __init__(self) -> None:
        self.dropped: list[str] = []

    def integer(self, fields: Fields, key: str, bounds: tuple[int, int]) -> int | None:
        value = fields.data.get(key)
        if value is None:
            return None
        low, high = bounds
        if isinstance(value, bool) or not isinstance(value, int):
            self.dropped.append(f"{fields.where(key)}: expected an integer, got {type(value).__name__}")
            return None
        if not low <= value <= high:
            self.dropped.append(f"{fields.where(key)}: {value if abs(value) < 10**12 else 'huge'} out of range")
            return None
        return value

    def text(self, fields: Fields, key: str) -> str | None:
        value = fields.data.get(key)
        if value is None or (isinstance(value, str) and 0 < len(value) <= MAX_TEXT and value.isprintable()):
            return value
        self.dropped.append(f"{fields.where(key)}: expected a short text, got {type(value).__name__}")
        return None

    def child(self, fields: Fields, key: str) -> Fields | None:
        try:
            return fields.child(key)
        except EnvoyDataError:
            self.dropped.append(f"{fields.where(key)}: expected an object")
            return None

    def watts(self, fields: Fields, key: str) -> float | None:
        milliwatts = self.integer(fields, key, SIGNED)
        return None if milliwatts is None else milliwatts / 1000

    def meter(self, meters: Fields, key: str) -> LiveMeter | None:
        fields = self.child(meters, key)
        if fields is None:
            return None
        total = self.watts(fields, "agg_p_mw")
        phases = tuple(self.watts(fields, k) for k in PHASE_KEYS) if any(fields.has(k) for k in PHASE_KEYS) else ()
        return LiveMeter(total, phases)


def parse_livedata(endpoint: str, doc: object) -> LiveData:
    top = top_object(endpoint, doc)
    meters = top.child("meters")  # not an object: nothing here is usable
    if meters is None:
        raise EnvoyDataError(f"{endpoint}: no `meters` object")
    read = _Reader()
    connection = read.child(top, "connection")
    split = read.integer(meters, "is_split_phase", (0, 1))
    last_update = read.integer(meters, "last_update", UNSIGNED)
    return LiveData(
        sc_stream=read.text(connection, "sc_stream") if connection else None,
        last_update=last_update or None,
        pv=read.meter(meters, "pv"),
        storage=read.meter(meters, "storage"),
        grid=read.meter(meters, "grid"),
        load=read.meter(meters, "load"),
        generator=read.meter(meters, "generator"),
        soc_pct=read.integer(meters, "soc", PERCENT),
        backup_soc_pct=read.integer(meters, "backup_soc", PERCENT),
        encharge_soc_pct=read.integer(meters, "enc_agg_soc", PERCENT),
        encharge_energy_wh=read.integer(meters, "enc_agg_energy", UNSIGNED),
        acb_soc_pct=read.integer(meters, "acb_agg_soc", PERCENT),
        acb_energy_wh=read.integer(meters, "acb_agg_energy", UNSIGNED),
        main_relay_state=read.integer(meters, "main_relay_state", UNSIGNED),
        gen_relay_state=read.integer(meters, "gen_relay_state", UNSIGNED),
        phase_count=read.integer(meters, "phase_count", (0, MAX_PHASES)),
        split_phase=None if split is None else bool(split),
        dropped=tuple(f"{endpoint}: {problem}" for problem in read.dropped),
    )


def parse_stream_reply(endpoint: str, doc: object) -> str | None:
    """`POST /ivp/livedata/stream`: `{"sc_stream": "enabled"}`; the state it reports."""
    return top_object(endpoint, doc).text("sc_stream")
