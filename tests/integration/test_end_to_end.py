"""End to end: the simulator (real HTTPS, token auth, fake cloud) serving real captures, a real
Mosquitto, the bridge's command line, and a real paho subscriber reading the retained topics."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time

import pytest

from bridge.cli import main
from bridge.config import MqttConfig
from bridge.simulator import Simulator
from tests.support.captures import capture_names, captures_root, load_capture
from tests.support.mqtt import Subscriber, wait_for
from tests.support.processes import bridge_cli, running_bridge, write_config

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig().availability_topic
BRIDGE_INFO = MqttConfig().bridge_topic("info")

pytestmark = pytest.mark.integration


def retained(broker, prefix: str, settle_topic: str) -> dict[str, bytes]:
    """Everything the broker holds under `prefix`, read by a fresh subscriber."""
    sub = Subscriber(broker.host, broker.port, topics=(f"{prefix}/#",))
    try:
        sub.wait_topic(settle_topic)
        time.sleep(0.3)  # let the rest of the retained burst arrive after the one we waited for
        return dict(sub.messages)
    finally:
        sub.close()


def without_time(payload: dict) -> dict:
    """The reference interpretation of a capture knows the gateway, not what the bridge integrates
    itself over time (`computed_energy`, checked on its own): both are left out."""
    return {k: v for k, v in payload.items() if k not in ("time", "computed_energy")}


PUBLISHABLE = [name for name in capture_names() if name != "3.7.0"]


@pytest.mark.parametrize("capture", PUBLISHABLE or ["(captures absent)"])
def test_run_once_publishes_what_the_reference_says_for_every_capture(capture, tmp_path, mosquitto):
    expected = load_capture(capture).state()
    with Simulator(captures_root() / capture) as sim:
        config = write_config(tmp_path, sim, mosquitto)
        assert main(["run", "-c", str(config), "--once"]) == 0
        serial = sim.serial
    messages = retained(mosquitto, "envoy", f"envoy/{serial}/state")
    state = json.loads(messages[f"envoy/{serial}/state"])
    assert without_time(state) == without_time(expected.as_payload())
    # one sample so far: the computed counters (where the gateway lacks their CT) start at 0
    assert set(state.get("computed_energy", {}).values()) <= {0}
    assert messages[f"envoy/{serial}/availability"] == b"online"
    assert messages[BRIDGE] == b"offline"  # --once exits cleanly
    if expected.grid_status:
        assert messages[f"envoy/{serial}/grid/status"] == expected.grid_status.encode()
    # one retained document per unit (inverters, batteries, Enpower, relays ...), as the model says
    documents = {f"envoy/{serial}/{suffix}": body for suffix, body in expected.device_payloads().items()}
    gateway_topics = {f"envoy/{serial}/{t}" for t in ("state", "availability", "diagnostics", "grid/status")}
    bridge_topics = {BRIDGE, BRIDGE_INFO}
    assert set(messages) - gateway_topics - bridge_topics == set(documents)
    assert json.loads(messages[BRIDGE_INFO])["gateways"][0]["serial"] == serial
    for topic, body in documents.items():
        assert json.loads(messages[topic]) == body, topic
    discovery = retained(
        mosquitto,
        "homeassistant",
        f"homeassistant/sensor/{serial}/production/config"
        if "production" in state
        else f"homeassistant/sensor/{serial}/consumption/config",
    )
    assert discovery, "no discovery config published"
    for topic, payload in discovery.items():
        config = json.loads(payload)
        assert config["unique_id"] == f"{serial}_{topic.split('/')[3]}"
        health = MqttConfig().bridge_topic("health")  # the gateway's requests over the last hour
        assert config["state_topic"] in {f"envoy/{serial}/state", f"envoy/{serial}/diagnostics", health, *documents}


def test_run_once_reports_a_capture_without_usable_data_in_one_line(tmp_path, mosquitto, capsys):
    with Simulator(captures_root() / "3.7.0") as sim:
        config = write_config(tmp_path, sim, mosquitto)
        assert main(["run", "-c", str(config), "--once"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: gateway") and "Traceback" not in err


def test_unreachable_gateway_and_bad_config_fail_in_one_line_without_traceback(tmp_path, mosquitto):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, mosquitto)
    # the simulator is gone: connection refused
    proc = bridge_cli("run", "-c", str(config), "--once")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: gateway")
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("gateways: [{host: x}]\nmqtt: {port: nope}\n")
    proc = bridge_cli("check-config", "-c", str(bad))
    assert proc.returncode == 2 and "mqtt.port" in proc.stderr and "gateways[0].tls" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_token_is_cached_0600_and_reused_without_the_cloud(tmp_path, mosquitto):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, mosquitto)
        assert main(["run", "-c", str(config), "--once"]) == 0
        assert sim.cloud_counts["tokens_issued"] == 1
        cache = tmp_path / "cache" / "token.jwt"
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
        assert main(["run", "-c", str(config), "--once"]) == 0
        assert sim.cloud_counts["tokens_issued"] == 1  # the cached token was used
        assert sim.request_counts.get("/auth/check_jwt", 0) == 2  # one session per run


def test_no_secret_reaches_the_log_or_mqtt_at_debug(tmp_path, mosquitto):
    with Simulator() as sim:
        sim.fail_next(401, count=1, path="/ivp/meters/readings")  # exercise the 401 path too
        config = write_config(tmp_path, sim, mosquitto, log_level="DEBUG")
        sub = Subscriber(mosquitto.host, mosquitto.port)
        proc = bridge_cli("run", "-c", str(config), "--once")
        assert proc.returncode == 0, proc.stderr
        token = (tmp_path / "cache" / "token.jwt").read_text().strip()
        wait_for(lambda: any(t.endswith("/state") for t in sub.messages), message="state")
        sub.close()
    log_text = proc.stdout + proc.stderr
    assert "DEBUG" in log_text
    mqtt_text = "\n".join(p.decode("utf-8", "replace") for _, p in sub.history)
    for secret in (sim.cloud_password, token, "eyJ", token.split(".")[-1]):
        assert secret not in log_text, f"secret in the log: {secret[:12]}..."
        assert secret not in mqtt_text, f"secret in an MQTT payload: {secret[:12]}..."
    assert "sessionId=" not in log_text or "sessionId=********" in log_text


def test_run_polls_until_sigterm_then_says_offline_and_exits_0(tmp_path, mosquitto):
    with Simulator(scenario="metered", time_factor=60) as sim:  # values that move: a new state each poll
        config = write_config(tmp_path, sim, mosquitto, poll={"meters": 5, "grid": 5})
        sub = Subscriber(mosquitto.host, mosquitto.port)
        try:
            with running_bridge(config, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
                state_topic = f"envoy/{sim.serial}/state"
                wait_for(
                    lambda: sum(t == state_topic for t, _ in sub.history) >= 2, timeout=30, message="two poll cycles"
                )
                assert sub.get(BRIDGE) == b"online"
                assert sim.request_counts.get("/ivp/meters/readings", 0) >= 2
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(10) == 0
                assert time.monotonic() - started < 5
                sub.wait_topic(BRIDGE, payload=b"offline")
        finally:
            sub.close()
    assert "Traceback" not in proc.stdout.read()


def test_gateway_outage_turns_availability_offline_and_back(tmp_path, mosquitto):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, mosquitto, poll={"meters": 5, "grid": 5})
        sub = Subscriber(mosquitto.host, mosquitto.port)
        avail = f"envoy/{sim.serial}/availability"
        try:
            with running_bridge(config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                sub.wait_topic(avail, timeout=20, payload=b"online")
                sim.stop_envoy()
                sub.wait_topic(avail, timeout=30, payload=b"offline")
                assert sub.get(BRIDGE) == b"online"  # two-level availability
                sim.start_envoy()
                sub.wait_topic(avail, timeout=60, payload=b"online")
        finally:
            sub.close()


def test_grid_outage_reaches_the_broker_within_two_seconds(tmp_path, mosquitto):
    """The relay has its own one-second poll group and its change is published at once."""
    with Simulator(scenario="three_phase_battery") as sim:
        config = write_config(tmp_path, sim, mosquitto)
        sub = Subscriber(mosquitto.host, mosquitto.port)
        topic = f"envoy/{sim.serial}/grid/status"
        try:
            with running_bridge(config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                sub.wait_topic(topic, timeout=30, payload=b"on_grid")
                times = []
                for _ in range(3):
                    started = time.monotonic()
                    sim.trigger("grid_outage")
                    sub.wait_topic(topic, timeout=10, payload=b"off_grid")
                    times.append(time.monotonic() - started)
                    sim.trigger("grid_restore")
                    sub.wait_topic(topic, timeout=10, payload=b"on_grid")
                assert max(times) < 2.5, f"outage detection took {times} s"  # target 2 s, on a busy CI box
                relay_reads = sim.request_counts.get("/ivp/ensemble/relay", 0)
                inventory_reads = sim.request_counts.get("/ivp/ensemble/inventory", 0)
                assert relay_reads > 5 * inventory_reads  # the fast group reads only the tiny relay
        finally:
            sub.close()
