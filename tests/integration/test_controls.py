"""Issue 14 end to end: commands over a real Mosquitto from a real paho client, the bridge
in-process (its real publisher and worker), the simulated gateway over HTTPS."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from bridge.app import Bridge
from bridge.config import load_config
from bridge.simulator import Simulator, load_scenario
from bridge.simulator.controls import acb_serials
from tests.support.mqtt import Mosquitto, Subscriber, free_port, wait_for
from tests.support.processes import in_process, write_config

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def bridge_for(
    tmp_path: Path, sim: Simulator, broker: Any, controls: dict[str, Any], **gateway: Any
) -> Iterator[Bridge]:
    path = write_config(tmp_path, sim, broker, controls=controls, **gateway)
    with in_process(Bridge(load_config(path, {}))) as bridge:
        yield bridge


def client(broker: Any, username: str | None = None, password: str | None = None) -> mqtt.Client:
    paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-cmd-{free_port()}")
    if username:
        paho.username_pw_set(username, password)
    paho.connect(broker.host, broker.port)
    paho.loop_start()
    return paho


def send(paho: mqtt.Client, topic: str, payload: str, retain: bool = False) -> None:
    paho.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_a_retained_command_is_ignored_at_startup(tmp_path, mosquitto, caplog):
    caplog.set_level(logging.INFO, logger="bridge.controls")
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        publisher = client(mosquitto)
        send(publisher, f"{base}/relay/NC1/set", "OFF", retain=True)  # yesterday's command, kept by the broker
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"{base}/#",))
        try:
            with bridge_for(tmp_path, sim, mosquitto, {"relays": True}):
                sub.wait_topic(f"{base}/relay/NC1", timeout=60)
                wait_for(lambda: "retained command is never executed" in caplog.text, 10)
                relay = json.loads(sub.get(f"{base}/relay/NC1"))
        finally:
            sub.close()
            publisher.loop_stop()
        writes = control_writes(sim)
    assert writes == {}
    assert relay["status"] == "closed"  # as the gateway had it
    assert sub.get(f"{base}/relay/NC1/result") is None
    assert caplog.text.count("retained command is never executed") == 1


def test_commands_closer_than_the_interval_are_refused_with_their_id(tmp_path, mosquitto):
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"{base}/#",))
        publisher = client(mosquitto)
        try:
            with bridge_for(tmp_path, sim, mosquitto, {"relays": True, "min_interval_s": 30}):
                sub.wait_topic(f"{base}/relay/NC1", timeout=60)
                send(publisher, f"{base}/relay/NC1/mode/set", '{"value": "soc", "id": "first"}')
                send(publisher, f"{base}/relay/NC1/mode/set", '{"value": "manual", "id": "second"}')
                wait_for(lambda: any(b'"second"' in p for t, p in sub.history if t.endswith("/result")), 30)
        finally:
            sub.close()
            publisher.loop_stop()
    results = [json.loads(p) for t, p in sub.history if t == f"{base}/relay/NC1/mode/result"]
    second = next(r for r in results if r["id"] == "second")
    assert second["ok"] is False and second["error"].startswith("too soon")
    assert not sub.retained[f"{base}/relay/NC1/mode/result"]


def test_the_example_acl_lets_only_home_assistant_and_node_red_send_commands(tmp_path):
    users = {"envoy-bridge": "b-pass", "homeassistant": "h-pass", "nodered": "n-pass"}
    broker = Mosquitto(tmp_path, users=users, acl=EXAMPLES / "mosquitto" / "acl").start()
    try:
        watcher = Subscriber(broker.host, broker.port, topics=("envoy/#",), username="envoy-bridge", password="b-pass")
        bridge, nodered = client(broker, "envoy-bridge", "b-pass"), client(broker, "nodered", "n-pass")
        home_assistant = client(broker, "homeassistant", "h-pass")
        send(nodered, "envoy/999000000003/relay/NC1/set", "ON")
        send(home_assistant, "envoy/999000000003/storage/mode/set", "backup")
        send(home_assistant, "envoy/999000000003/relay/NC1/mode/set", "soc")
        send(nodered, "envoy/999000000003/state", "{}")  # not theirs: dropped by the broker
        send(home_assistant, "envoy/999000000003/relay/NC1/result", "{}")
        send(bridge, "envoy/999000000003/availability", "online")
        watcher.wait_topic("envoy/999000000003/availability")
        for paho in (bridge, nodered, home_assistant):
            paho.loop_stop()
        seen = {topic for topic, _ in watcher.history}
        watcher.close()
    finally:
        broker.stop()
    assert seen == {
        "envoy/999000000003/relay/NC1/set",
        "envoy/999000000003/storage/mode/set",
        "envoy/999000000003/relay/NC1/mode/set",
        "envoy/999000000003/availability",
    }


class Commander:
    """Sends commands as Node-RED does (JSON with an id) and waits for each one's result."""

    def __init__(self, broker: Any, sub: Subscriber, base: str) -> None:
        self.paho, self.sub, self.base, self.count = client(broker), sub, base, 0

    def __call__(self, path: str, value: object, timeout: float = 20.0) -> dict[str, Any]:
        self.count += 1
        command_id = f"c{self.count}"
        send(self.paho, f"{self.base}/{path}/set", json.dumps({"value": value, "id": command_id}))
        return wait_for(lambda: self.result(path, command_id), timeout, message=f"the result of {path}")

    def result(self, path: str, command_id: str) -> dict[str, Any] | None:
        topic = f"{self.base}/{path}/result"
        found = [json.loads(p) for t, p in self.sub.history if t == topic]
        return next((r for r in found if r["id"] == command_id), None)

    def close(self) -> None:
        self.paho.loop_stop()


@contextmanager
def commanding(
    tmp_path: Path, sim: Simulator, broker: Any, controls: dict[str, Any], ready: str = "relay/NC1", **gateway: Any
):
    """The bridge running and `ready` (a document of the hardware commanded) published."""
    base = f"envoy/{sim.serial}"
    sub = Subscriber(broker.host, broker.port, topics=(f"{base}/#",))
    commander = Commander(broker, sub, base)
    try:
        with bridge_for(tmp_path, sim, broker, controls, **gateway) as bridge:
            sub.wait_topic(f"{base}/{ready}", timeout=60)
            yield commander, sub, bridge
    finally:
        commander.close()
        sub.close()


def control_writes(sim: Simulator) -> dict[str, int]:
    """The writes that reached the gateway, but the bridge's own switching on of the live data."""
    return {path: count for path, count in sim.write_counts.items() if path != "/ivp/livedata/stream"}


def document(sub: Subscriber, topic: str) -> dict[str, Any]:
    return json.loads(sub.get(topic))


def test_every_control_of_the_gateway_through_mqtt(tmp_path, mosquitto):
    families = {"battery": True, "relays": True, "grid": True, "production": True, "min_interval_s": 1}
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        with commanding(tmp_path, sim, mosquitto, families, token=sim.issue_token("installer")) as (command, sub, _):
            outcomes = {
                "storage/mode": command("storage/mode", "backup"),
                "storage/reserve": command("storage/reserve", 35),
                "storage/charge_from_grid": command("storage/charge_from_grid", "ON"),
                "relay/NC1": command("relay/NC1", "OFF"),
                "relay/NC1/mode": command("relay/NC1/mode", "soc"),
                "relay/NC1/grid_action": command("relay/NC1/grid_action", "schedule"),
                "relay/NC1/microgrid_action": command("relay/NC1/microgrid_action", "apply"),
                "relay/NC1/generator_action": command("relay/NC1/generator_action", "none"),
                "relay/NC1/soc_high": command("relay/NC1/soc_high", 90),
                "relay/NC1/soc_low": command("relay/NC1/soc_low", 25),
                "grid/connection": command("grid/connection", "OFF"),
                "production": command("production", "OFF"),
            }
            state = document(sub, f"{base}/state")
            relay = document(sub, f"{base}/relay/NC1")
            enpower = next(json.loads(p) for t, p in sub.messages.items() if "/enpower/" in t)
            reconnected = wait_for(lambda: _retry_too_soon(command, "grid/connection", "ON"), 10)
        writes = control_writes(sim)
    failed = {path: r for path, r in outcomes.items() if not r["ok"]}
    assert failed == {}
    assert {path: r["value"] for path, r in outcomes.items()} == {
        "storage/mode": "backup",
        "storage/reserve": 35,
        "storage/charge_from_grid": "ON",
        "relay/NC1": "OFF",
        "relay/NC1/mode": "soc",
        "relay/NC1/grid_action": "schedule",
        "relay/NC1/microgrid_action": "apply",
        "relay/NC1/generator_action": "no_action",  # the gateway's "none", as Home Assistant can show it
        "relay/NC1/soc_high": 90,
        "relay/NC1/soc_low": 25,
        "grid/connection": "OFF",
        "production": "OFF",
    }
    # The documents were published at once with what the gateway said after each write.
    assert state["storage_settings"]["mode"] == "backup" and state["storage_settings"]["reserve_soc_pct"] == 35
    assert state["storage_settings"]["charge_from_grid"] is True
    assert (relay["status"], relay["mode"], relay["grid_action"], relay["micro_grid_action"]) == (
        "open",
        "soc",
        "schedule",
        "apply",
    )
    assert (relay["generator_action"], relay["soc_low_pct"], relay["soc_high_pct"]) == ("none", 25, 90)
    assert enpower["mains_admin_state"] == "open"
    assert reconnected["ok"] and reconnected["value"] == "ON"
    assert writes == {
        "/admin/lib/tariff": 3,
        "/ivp/ensemble/dry_contacts": 1,
        "/ivp/ss/dry_contact_settings": 6,
        "/ivp/ensemble/relay": 2,
        "/ivp/mod/603980032/mode/power": 1,
    }


def test_an_owner_token_never_sends_production_and_bad_values_send_nothing(tmp_path, mosquitto):
    families = {"battery": True, "relays": True, "production": True}
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        with commanding(tmp_path, sim, mosquitto, families) as (command, _sub, _):
            outcomes = [
                command("production", "OFF"),
                command("storage/reserve", 101),
                command("storage/mode", "eco"),
                command("relay/NC1", "closed"),
                command("relay/NC1/soc_low", 95),  # above soc_high: refused after reading the settings
                command("relay/NO3", "ON"),  # no such relay on this gateway
            ]
        writes = control_writes(sim)
    assert [r["ok"] for r in outcomes] == [False] * len(outcomes)
    assert "installer" in outcomes[0]["error"]
    assert writes == {}


def test_the_clouds_revert_of_the_storage_mode_is_reported(tmp_path, mosquitto):
    families = {"battery": True, "revert_check_s": 1}
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        with commanding(tmp_path, sim, mosquitto, families) as (command, sub, _):
            sim.trigger("storage_mode_revert", after_s=3)
            confirmed = command("storage/mode", "savings")
            topic = f"{base}/storage/mode/result"
            wait_for(lambda: len([t for t, _ in sub.history if t == topic]) >= 2, 20, message="the revert")
            results = [json.loads(p) for t, p in sub.history if t == topic]
            state = wait_for(
                lambda: document(sub, f"{base}/state")["storage_settings"]["mode"] == "self-consumption", 10
            )
    assert confirmed == {"id": "c1", "ok": True, "value": "savings", "error": None}
    reverted = results[1]
    assert (reverted["id"], reverted["ok"], reverted["value"]) == ("c1", False, "self-consumption")
    assert reverted["error"].startswith("reverted:")
    assert state
    assert len(results) == 2  # once


def test_an_ac_battery_sleeps_and_wakes_through_mqtt(tmp_path, mosquitto):
    with Simulator(scenario="ac_battery", time_factor=1, start="11:00") as sim:
        serial = acb_serials(sim.scenario)[0]
        families = {"battery": True, "min_interval_s": 1}
        with commanding(tmp_path, sim, mosquitto, families, ready=f"acb/{serial}") as (command, sub, _):
            asleep = command(f"acb/{serial}/sleep", "ON")
            sleeping = sim.world.controls.sleeping()
            awake = wait_for(lambda: _retry_too_soon(command, f"acb/{serial}/sleep", "OFF"), 10)
            writes = control_writes(sim)
            document = json.loads(sub.get(f"envoy/{sim.serial}/acb/{serial}"))
        after = sim.world.controls.sleeping()
    assert asleep == {"id": "c1", "ok": True, "value": "ON", "error": None}
    assert sleeping == {serial: (95, 100)}  # the band Home Assistant's default sends
    assert awake["ok"] and awake["value"] == "OFF" and after == {}
    assert writes == {"/admin/lib/acb_config": 2}
    assert "sleep_enabled" in document  # the battery's own document, from /inventory.json


def _retry_too_soon(command: Commander, path: str, value: object) -> dict[str, Any] | None:
    """The command's result, or None while it is refused as too soon after the last one."""
    result = command(path, value)
    return None if result["error"] and result["error"].startswith("too soon") else result


def test_the_generator_mode_through_mqtt(tmp_path, mosquitto):
    scenario = replace(load_scenario("three_phase_battery"), generator=True)
    with Simulator(scenario=scenario, time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        with commanding(tmp_path, sim, mosquitto, {"generator": True}, ready="generator") as (command, sub, _):
            outcome = command("generator/mode", "on")
            generator = wait_for(lambda: _running(sub, f"{base}/generator"), 10, message="the generator running")
            refused = command("generator/mode", "start")
        writes = control_writes(sim)
    assert outcome == {"id": "c1", "ok": True, "value": "on", "error": None}
    assert generator["mode"] == "on"  # its document, published at once after the read-back
    assert refused["ok"] is False and "expected one of on, off, auto" in refused["error"]
    assert writes == {"/ivp/ss/gen_mode": 1}


def _running(sub: Subscriber, topic: str) -> dict[str, Any] | None:
    found = json.loads(sub.get(topic) or "{}")
    return found if found.get("running") else None


def test_plain_commands_from_mosquitto_pub(tmp_path, mosquitto):
    """What docs/mqtt.md shows a user typing: the real mosquitto_pub, plain payloads, no id."""
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        base = f"envoy/{sim.serial}"
        with commanding(tmp_path, sim, mosquitto, {"battery": True, "relays": True}) as (_command, sub, _):
            for path, value in (("storage/reserve", "40"), ("relay/NC1", "OFF")):
                subprocess.run(
                    [
                        "mosquitto_pub",
                        "-h",
                        mosquitto.host,
                        "-p",
                        str(mosquitto.port),
                        "-q",
                        "1",
                        "-t",
                        f"{base}/{path}/set",
                        "-m",
                        value,
                    ],
                    check=True,
                    timeout=10,
                )
                topic = f"{base}/{path}/result"
                result = wait_for(lambda t=topic: sub.messages.get(t), 20, message=f"the result of {path}")
                assert json.loads(result) == {
                    "id": None,
                    "ok": True,
                    "value": int(value) if value.isdigit() else value,
                    "error": None,
                }
        assert sim.source.world.controls.reserve_pct() == 40
        assert sim.source.world.controls.relay_status["NC1"] == "open"
