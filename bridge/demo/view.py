"""The demo's live view: subscribes to the bridge's topics and shows what flows.

On a terminal it redraws one compact block (ANSI) every refresh; otherwise it prints a plain
summary line when new state arrived. It reads only what is published, so it shows exactly
what Home Assistant or Node-RED would see, and tolerates any key being absent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

if TYPE_CHECKING:  # annotations only: the simulator is imported when the demo starts it
    from bridge.simulator import Simulator

Json = dict[str, Any]
RATE_WINDOW_S = 60.0  # per-topic rates are messages in the last minute
PLAIN_EVERY_S = 5.0  # plain mode: at most one summary line this often
WIDTH = 78
KEYS_HELP = "keys: o outage  r restore  b reboot  f firmware update  s slow  m malformed  t revoke token  q quit"


def _number(value: object) -> float | None:
    """The value when it is a number (a bool is not one), else None: published JSON may lack it."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def kw(value: object, signed: bool = False) -> str:
    """Watts for people: "640 W", "4.21 kW"; "-" when unknown."""
    watts = _number(value)
    if watts is None:
        return "-"
    sign = "+" if signed and watts > 0 else ""
    return f"{sign}{watts:.0f} W" if abs(watts) < 1000 else f"{sign}{watts / 1000:.2f} kW"


def kwh(value: object) -> str:
    wh = _number(value)
    return "-" if wh is None else f"{wh / 1000:,.1f} kWh"


def _get(doc: object, *path: str) -> object:
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _section(doc: Json, key: str) -> Json:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _numbers(devices: dict[str, Json], key: str) -> list[float]:
    return [n for n in (_number(d.get(key)) for d in devices.values()) if n is not None]


def battery_of(state: Json, devices: dict[str, Json]) -> tuple[float | None, float | None]:
    """(SOC %, power W, + discharging) from the state's "battery" section, else the devices."""
    soc, power = _number(_get(state, "battery", "soc_pct")), _number(_get(state, "battery", "power_w"))
    if soc is None and devices:
        socs = _numbers(devices, "soc_pct")
        soc = sum(socs) / len(socs) if socs else None
    if power is None and devices:
        powers = _numbers(devices, "power_w")
        power = sum(powers) if powers else None
    if power is None:
        power = _number(_get(state, "meters", "storage", "power_w"))
    return soc, power


def summary(serial: str, state: Json, devices: dict[str, Json] | None = None) -> str:
    """One line: production, consumption, grid import/export and status, battery."""
    grid = _section(state, "grid")
    parts = [
        f"{serial}: production {kw(_get(state, 'production', 'power_w'))}",
        f"consumption {kw(_get(state, 'consumption', 'power_w'))}",
        f"grid import {kw(grid.get('import_power_w'))}",
        f"export {kw(grid.get('export_power_w'))}",
        f"grid {grid.get('status', 'unknown')}",
    ]
    soc, power = battery_of(state, devices or {})
    if soc is not None:
        parts.append(f"battery {soc:.0f} % ({kw(power, signed=True)})")
    return "  ".join(parts)


def topic_pattern(topic: str) -> str:
    """Group per-device topics: envoy/S/inverter/123 -> envoy/S/inverter/+ (not grid/status)."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[2] != "grid":
        return "/".join([*parts[:3], "+"])
    if parts[0] == "homeassistant":
        return "homeassistant/# (discovery)"
    return topic


class LiveView:
    def __init__(
        self,
        host: str,
        port: int,
        base_topic: str,
        plain: bool,
        *,
        sim: Simulator | None = None,
        broker_note: str = "",
        keys: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.host, self.port, self.base, self.plain = host, port, base_topic, plain
        self.sim, self.broker_note, self.keys, self.clock = sim, broker_note, keys, clock
        self.states: dict[str, Json] = {}
        self.grid_status: dict[str, str] = {}
        self.availability: dict[str, str] = {}
        self.batteries: dict[str, dict[str, Json]] = defaultdict(dict)
        self.count = 0
        self.state_count = 0
        self.topics: set[str] = set()
        self.recent: dict[str, deque[float]] = defaultdict(deque)
        self._printed_states, self._printed_at = 0, -PLAIN_EVERY_S
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"envoy-demo-view-{time.time_ns()}")
        self.client.on_connect = lambda c, *_: c.subscribe([(f"{base_topic}/#", 0), ("homeassistant/#", 0)])
        self.client.on_message = self._on_message
        self.client.connect_async(host, port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client | None, userdata: object, message: mqtt.MQTTMessage) -> None:
        topic, now = message.topic, self.clock()
        with self._lock:
            self.count += 1
            self.topics.add(topic)
            self.recent[topic_pattern(topic)].append(now)
            parts = topic.split("/")
            if len(parts) < 3 or parts[0] != self.base:
                return
            serial, rest = parts[1], "/".join(parts[2:])
            text = message.payload.decode("utf-8", "replace")
            if rest == "state":
                self.states[serial] = _json(text) or self.states.get(serial, {})
                self.state_count += 1
            elif rest == "grid/status":
                self.grid_status[serial] = text
            elif rest == "availability":
                self.availability[serial] = text
            elif parts[2] == "battery" and len(parts) == 4:
                self.batteries[serial][parts[3]] = _json(text) or {}

    def rates(self) -> list[tuple[str, float]]:
        """(topic pattern, messages per minute) over the last minute, busiest first."""
        horizon = self.clock() - RATE_WINDOW_S
        out = []
        for pattern, times in self.recent.items():
            while times and times[0] < horizon:
                times.popleft()
            if times:
                out.append((pattern, len(times) * 60.0 / RATE_WINDOW_S))
        return sorted(out, key=lambda item: (-item[1], item[0]))

    def show(self) -> None:
        with self._lock:
            text = self._plain_line() if self.plain else "\x1b[H\x1b[J" + "\n".join(self.block())
        if text:
            print(text, flush=True)

    def _plain_line(self) -> str:
        now = self.clock()
        if self.state_count == self._printed_states or now - self._printed_at < PLAIN_EVERY_S:
            return ""
        self._printed_states, self._printed_at = self.state_count, now
        lines = [summary(serial, state, self.batteries.get(serial)) for serial, state in sorted(self.states.items())]
        stamp = time.strftime("%H:%M:%S")
        return "\n".join(f"{stamp} {line}  messages {self.count}" for line in lines)

    def block(self) -> list[str]:
        lines = [self._title(), "-" * WIDTH]
        for serial, state in sorted(self.states.items()):
            lines += self._gateway(serial, state)
            lines.append("-" * WIDTH)
        if not self.states:
            lines += ["waiting for the bridge's first state message...", "-" * WIDTH]
        lines += self._traffic()
        lines += [
            f"broker  {self.host}:{self.port} ({self.broker_note})  <- point Home Assistant or Node-RED here",
            f"        mosquitto_sub -h {self.host} -p {self.port} -t '{self.base}/#' -v",
        ]
        lines += self._conditions()
        if self.keys:
            lines.append(KEYS_HELP)
        lines.append("Ctrl-C stops everything")
        return lines

    def _title(self) -> str:
        title = "envoy-mqtt-bridge demo"
        sim = self.sim
        if sim is not None and sim.scenario is not None:
            title += f"  |  {sim.scenario.name}  |  simulated {sim.clock.describe()}  x{sim.clock.factor:g}"
        return title

    def _gateway(self, serial: str, state: Json) -> list[str]:
        grid = _section(state, "grid")
        status = self.grid_status.get(serial) or grid.get("status") or "unknown"
        status_text = {"on_grid": "ON GRID", "off_grid": "OFF GRID (outage)"}.get(status, status)
        lines = [
            f"gateway {serial}  firmware {state.get('firmware', '-')}  {self.availability.get(serial, '-')}",
            (
                f"  production  {kw(_get(state, 'production', 'power_w')):>9}    "
                f"consumption {kw(_get(state, 'consumption', 'power_w')):>9}"
            ),
            (
                f"  grid        {status_text:<18} import {kw(grid.get('import_power_w'))}  "
                f"export {kw(grid.get('export_power_w'))}"
            ),
        ]
        soc, power = battery_of(state, self.batteries.get(serial, {}))
        if soc is not None or power is not None:
            flow = "idle" if not power else ("discharging " if power > 0 else "charging ") + kw(abs(power))
            soc_text = "-" if soc is None else f"{soc:.0f} %"
            lines.append(f"  battery     SOC {soc_text:<13} {flow}")
        lines.append(
            f"  today       produced {kwh(_get(state, 'production', 'energy_today_wh'))}  "
            f"consumed {kwh(_get(state, 'consumption', 'energy_today_wh'))}"
        )
        lines.append(
            f"  lifetime    grid import {kwh(grid.get('energy_imported_wh'))}  "
            f"export {kwh(grid.get('energy_exported_wh'))}"
        )
        return lines

    def _traffic(self) -> list[str]:
        discovery = sum(1 for t in self.topics if t.startswith("homeassistant/"))
        lines = [f"mqtt    {self.count} messages on {len(self.topics)} topics ({discovery} discovery configs)"]
        for pattern, per_minute in self.rates()[:7]:
            lines.append(f"        {pattern[:56]:<56} {per_minute:5.1f}/min")
        return lines

    def _conditions(self) -> list[str]:
        active = self.sim.director.describe() if self.sim is not None else []
        return [f"events  {'; '.join(active)}"] if active else []

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _json(text: str) -> Json | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
