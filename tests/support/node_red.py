"""The real Node-RED for the tests: installed once by scripts/install-node-red (cached outside
the repository), started on loopback with a flow the test writes, its log in a file; and the
example flows (examples/node-red/) set up as a user sets them up."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.mqtt import free_port
from tests.support.processes import REPO, start_logged

FLOW = REPO / "examples" / "node-red" / "flow.json"
LOAD_SHEDDING = REPO / "examples" / "node-red" / "load-shedding.json"


def node_red_binary() -> str:
    """The cached `node-red` executable; the test is skipped when it cannot be installed."""
    try:
        proc = subprocess.run([str(REPO / "scripts" / "install-node-red")], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"Node-RED could not be installed: {err}")
    if proc.returncode != 0:
        pytest.skip(f"Node-RED could not be installed: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip().splitlines()[-1]


def start_node_red(
    binary: str, userdir: Path, nodes: list[dict[str, Any]], log: Path, **settings: Any
) -> subprocess.Popen[bytes]:
    """Node-RED in its own process group, running `nodes`; its editor on a free loopback port,
    no telemetry, `settings` added to settings.js (e.g. mqttReconnectTime). Stop it with
    tests.support.processes.stop_process."""
    userdir.mkdir(parents=True, exist_ok=True)
    (userdir / "flows.json").write_text(json.dumps(nodes))
    options = {
        "uiHost": "127.0.0.1",
        "uiPort": free_port(),
        "flowFile": "flows.json",
        "credentialSecret": False,
        "diagnostics": {"enabled": False},
        "telemetry": {"enabled": False},
        "logging": {"console": {"level": "info"}},
        **settings,
    }
    (userdir / "settings.js").write_text(f"module.exports = {json.dumps(options)};\n")  # JSON is valid JS
    command = [binary, "-u", str(userdir), "-s", str(userdir / "settings.js"), "flows.json"]
    return start_logged(command, log, start_new_session=True)


def example_flow(broker_port: int, alerts: Path) -> list[dict[str, Any]]:
    """The example flow's nodes with what a user sets: the broker (on loopback at `broker_port`)
    in the config node, and the alert file's path."""
    nodes = _with_broker(FLOW, broker_port)
    for node in nodes:
        if node["type"] == "file":
            node["filename"] = str(alerts)
    return nodes


def load_shedding_flow(broker_port: int, serial: str, relay: str) -> list[dict[str, Any]]:
    """The load-shedding example with what a user sets: the broker, and the gateway's serial and
    the relay in the two constants at the top of its function."""
    nodes = _with_broker(LOAD_SHEDDING, broker_port)
    function = next(node for node in nodes if node["type"] == "function")
    for name, value in (("SERIAL", serial), ("RELAY", relay)):
        function["func"], found = re.subn(rf"const {name} = '[^']*';", f"const {name} = '{value}';", function["func"])
        assert found == 1, f"no `const {name} = '...';` line in the example's function"
    return nodes


def _with_broker(flow: Path, broker_port: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = json.loads(flow.read_text())
    for node in nodes:
        if node["type"] == "mqtt-broker":
            node.update(broker="127.0.0.1", port=str(broker_port))
    return nodes
