"""examples/node-red/flow.json in a real Node-RED 4.1 (scripts/install-node-red, cached) fed by
the real bridge: Mosquitto, the simulator's three-phase gateway with batteries, the bridge's
command line. The flow's summary lines (tapped into a file, as a user would wire them) show the
values the bridge published from the simulator, and a grid outage in the simulator writes the
flow's alert file, once, then the restore."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.simulator import Simulator
from tests.support.mqtt import Subscriber, wait_for
from tests.support.node_red import example_flow, node_red_binary, start_node_red
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 300, "grid": 1}


def kw(w) -> str:
    """The flow's formatting, written again here so the flow's arithmetic is checked too."""
    if not isinstance(w, (int, float)):
        return "-"
    return f"{w / 1000:.2f} kW" if abs(w) >= 1000 else f"{round(w)} W"


def summary(serial: str, state: dict) -> str:
    grid, battery = state.get("grid", {}), state.get("battery", {})
    parts = [
        f"production {kw(state.get('production', {}).get('power_w'))}",
        f"consumption {kw(state.get('consumption', {}).get('power_w'))}",
        f"grid import {kw(grid.get('import_power_w'))}",
        f"export {kw(grid.get('export_power_w'))}",
        f"grid {grid.get('status') or 'unknown'}",
    ]
    if isinstance(battery.get("soc_pct"), (int, float)):
        parts.append(f"battery {round(battery['soc_pct'])} %")
    return f"{serial}: " + ", ".join(parts)


def flow_for(tmp_path: Path, broker_port: int) -> tuple[list[dict], Path, Path]:
    """The example flow as a user sets it up: broker address, alert file; plus a file node
    tapping the summary lines."""
    alerts, summaries = tmp_path / "alerts.log", tmp_path / "summaries.log"
    nodes = example_flow(broker_port, alerts)
    tab = next(n["id"] for n in nodes if n["type"] == "tab")
    next(n for n in nodes if n["id"] == "fn_summary")["wires"][0].append("test_summary_file")
    nodes.append(
        {
            "id": "test_summary_file",
            "type": "file",
            "z": tab,
            "name": "test tap",
            "filename": str(summaries),
            "filenameType": "str",
            "appendNewline": True,
            "createDir": True,
            "overwriteFile": "false",
            "encoding": "none",
            "x": 0,
            "y": 0,
            "wires": [[]],
        }
    )
    return nodes, alerts, summaries


def test_node_red_flow_shows_the_bridge_values_and_the_grid_outage(tmp_path, mosquitto):
    binary = node_red_binary()
    started = time.monotonic()
    nodes, alerts, summaries = flow_for(tmp_path, mosquitto.port)
    node_red = start_node_red(binary, tmp_path / "node-red", nodes, tmp_path / "node-red.log")
    bridge = None
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
    try:

        def nr_text():
            return (tmp_path / "node-red.log").read_text(errors="replace")

        wait_for(lambda: "Connected to broker" in nr_text(), timeout=60, message="Node-RED on the broker")
        with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
            serial = sim.serial
            config = write_config(tmp_path, sim, mosquitto, poll=POLL)
            bridge = start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)
            sub.wait_topic(f"envoy/{serial}/state", timeout=60)

            # the summaries Node-RED wrote are those of states the bridge published
            def published() -> set[str]:
                with sub._lock:
                    return {summary(serial, json.loads(p)) for t, p in sub.history if t == f"envoy/{serial}/state"}

            def written() -> list[str]:
                return summaries.read_text().splitlines() if summaries.exists() else []

            wait_for(lambda: len(written()) >= 2, timeout=30, message="two summary lines from the flow")
            lines, expected = written(), published()
            strange = [line for line in lines if line not in expected]
            assert not strange, (
                f"Node-RED wrote {strange[:3]}; the bridge published states that read {sorted(expected)[:3]}"
            )
            state = json.loads(sub.get(f"envoy/{serial}/state"))
            assert state["production"]["power_w"] > 0 and state["consumption"]["power_w"] > 0, state
            assert "grid on_grid" in lines[-1] and "battery " in lines[-1], lines[-1]
            assert not alerts.exists(), f"an alert without an outage: {alerts.read_text()!r}"

            # the outage: the alert file gets one GRID DOWN line, then GRID BACK
            sim.trigger("grid_outage")
            try:
                wait_for(
                    lambda: alerts.exists() and "GRID DOWN" in alerts.read_text(),
                    timeout=20,
                    message="the grid down alert",
                )
            except AssertionError as err:
                raise AssertionError(
                    f"no GRID DOWN line in {alerts}; bridge published grid status "
                    f"{sub.get(f'envoy/{serial}/grid/status')!r}"
                ) from err
            wait_for(
                lambda: any("grid off_grid" in line for line in written()),
                timeout=20,
                message="a summary line saying off_grid",
            )
            sim.trigger("grid_restore")
            wait_for(lambda: "GRID BACK" in alerts.read_text(), timeout=20, message="the grid back line")
            lines = alerts.read_text().splitlines()
            assert len(lines) == 2, f"expected one GRID DOWN and one GRID BACK line, got {lines}"
            assert "GRID DOWN" in lines[0] and serial in lines[0] and "GRID BACK" in lines[1], lines
    finally:
        sub.close()
        if bridge:
            stop_process(bridge)
        stop_process(node_red)
    assert time.monotonic() - started < 120
