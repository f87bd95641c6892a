"""`capture` against the simulator (real HTTPS, a token from the fake cloud), then `simulate
--capture` serving the folder back to the bridge's `run`, a real Mosquitto and a paho subscriber."""

from __future__ import annotations

import argparse
import json
import re
import stat
import time
from types import SimpleNamespace

import pytest
import requests

from bridge.capture.endpoints import capture_endpoints
from bridge.capture.layout import SUMMARY_FILE, file_name, log_name
from bridge.cli import main
from bridge.simulator import Simulator
from bridge.simulator import cli as simulator_cli
from tests.integration.test_end_to_end import without_time
from tests.support.captures import load_folder
from tests.support.mqtt import Subscriber
from tests.support.processes import bridge_cli, write_config

pytestmark = pytest.mark.integration

NO_BROKER = SimpleNamespace(host="127.0.0.1", port=1)  # `capture` never talks MQTT
TWELVE_DIGITS = re.compile(rb"(?<![0-9])[0-9]{12}(?![0-9])")


def capture(sim: Simulator, tmp_path, *extra: str):
    config = write_config(tmp_path, sim, NO_BROKER)
    folder = tmp_path / "capture"
    assert main(["capture", "-c", str(config), "-o", str(folder), "--pause", "0", *extra]) == 0
    return folder


def as_the_gateway_answers(sim: Simulator, endpoint: str) -> requests.Response:
    """The endpoint read directly, with a token of the simulator's own, for comparison."""
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    return requests.get(sim.envoy_url + endpoint, headers=headers, verify=sim.ca_file, timeout=10)


def test_a_capture_holds_every_endpoint_as_the_gateway_answered_it_and_no_serial_or_token(tmp_path, capsys):
    with Simulator(scenario="three_phase_battery") as sim:
        folder = capture(sim, tmp_path, "--zip")
        counts = dict(sim.request_counts)
        direct = {endpoint: as_the_gateway_answers(sim, endpoint) for endpoint in capture_endpoints(603980032)}
    out = capsys.readouterr().out
    assert out.startswith("gateway 900000000001 (firmware 8.2.4382): 37 of 37 endpoints answered")
    summary = json.loads((folder / SUMMARY_FILE).read_text())
    for endpoint, response in direct.items():
        name = file_name(endpoint)
        assert json.loads((folder / log_name(name)).read_text())["code"] == response.status_code, endpoint
        assert summary["endpoints"][endpoint]["code"] == response.status_code
    assert {e for e, r in direct.items() if r.status_code == 200} >= {"/info", "/ivp/meters/readings", "/home"}
    assert counts["/ivp/meters/readings"] == 1 and counts["/ivp/livedata/status"] == 1  # once each
    # nothing real: the gateway's and every unit's serial, the bridge's token, a session cookie
    real = {run for response in direct.values() for run in TWELVE_DIGITS.findall(response.content)}
    assert sim.serial.encode() in real and len(real) > 20
    token = (tmp_path / "cache" / "token.jwt").read_bytes().strip()
    for path in folder.iterdir():
        content = path.read_bytes()
        assert not real & set(TWELVE_DIGITS.findall(content)), path.name
        assert token not in content and b"eyJ" not in content and b"sessionId" not in content, path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "capture.zip").stat().st_mode) == 0o600
    assert sim.serial not in out and f"zip: {tmp_path / 'capture.zip'}" in out


def test_simulate_capture_serves_it_back_and_run_publishes_under_the_masked_serial(tmp_path, mosquitto):
    (tmp_path / "first").mkdir()
    with Simulator(scenario="three_phase_battery") as sim:
        folder = capture(sim, tmp_path / "first")
        real_serial = sim.serial
    parser = argparse.ArgumentParser()
    simulator_cli.add_arguments(parser)
    with simulator_cli.build_simulator(parser.parse_args(["--capture", str(folder)])) as replay:
        assert replay.serial == "900000000001"
        config = write_config(tmp_path, replay, mosquitto)
        assert main(["run", "-c", str(config), "--once"]) == 0
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
    try:
        state = json.loads(sub.wait_topic("envoy/900000000001/state"))
        time.sleep(0.3)  # the rest of the retained burst
        topics = dict(sub.messages)
    finally:
        sub.close()
    expected = load_folder(folder).state()  # the folder as a test fixture: what the model makes of it
    assert without_time(state) == without_time(expected.as_payload()) and "soc_pct" in state["battery"]
    assert topics["envoy/900000000001/availability"] == b"online"
    inverters = [t for t in topics if t.startswith("envoy/900000000001/inverter/")]
    assert len(inverters) == 24 and all(re.fullmatch(r"envoy/900000000001/inverter/9\d{11}", t) for t in inverters)
    assert len([t for t in topics if t.startswith("envoy/900000000001/battery/")]) == 3
    assert not [t for t, payload in topics.items() if real_serial in t or real_serial.encode() in payload]


def test_capture_of_a_gateway_that_is_gone_fails_in_one_line(tmp_path):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, NO_BROKER)
    proc = bridge_cli("capture", "-c", str(config), "-o", str(tmp_path / "capture"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "capture").exists()
