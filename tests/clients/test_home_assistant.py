"""The bridge against a real Home Assistant (tests/support/homeassistant.py): Mosquitto, the simulator's
three-phase gateway with batteries, the bridge's command line in its own process, and Home
Assistant, once on the oldest supported release and once on the newest that installs here
(tests/clients/conftest.py; each installed once, cached). Everything is asserted from Home
Assistant itself: its entity and device registries under `.storage/`, its REST API and its log.

- Home Assistant refuses no discovery config (its log says so, once per refused entity);
- every entity the bridge announced is registered, on the right device, with the unit, device
  class and state class of its config, and shows the value of the bridge's retained document;
- the gateway going away turns its entities unavailable while the bridge stays online, and
  they come back with it;
- a grid outage in the simulator turns the grid status binary sensor off, the restore on;
- the live-data entities are there (batteries and a system controller: read every second);
- on a battery site without a storage CT (the AC Battery scenario) the computed battery energy
  entities are there for the Energy dashboard: energy, total_increasing, on the gateway;
- with controls enabled, Home Assistant's own REST API opens a dry-contact relay and sets the
  battery reserve, and the simulated gateway's state changes.
"""

from __future__ import annotations

import json
import time

import pytest

from bridge.config import MqttConfig
from tests.support.homeassistant import HomeAssistant, announced
from tests.support.mqtt import Subscriber, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
jinja2 = pytest.importorskip("jinja2.sandbox")


def expected_state(config: dict, document: dict) -> str:
    """The config's template rendered as Home Assistant renders it, on the bridge's document."""
    from datetime import datetime, timezone

    env = jinja2.ImmutableSandboxedEnvironment()
    env.filters["timestamp_utc"] = lambda v: datetime.fromtimestamp(v, timezone.utc).isoformat()
    env.filters["as_datetime"] = lambda v: datetime.fromisoformat(v)
    env.globals["as_datetime"] = env.filters["as_datetime"]
    env.filters["float"] = lambda v, default=0.0: float(v) if v is not None else default
    rendered = env.from_string(config["value_template"]).render(value_json=document)
    if rendered in ("None", ""):
        return "unknown"
    if config["default_entity_id"].startswith(("binary_sensor.", "switch.")):
        return "on" if rendered == config.get("payload_on", "ON") else "off"
    return rendered


def same(shown: str | None, wanted: str) -> bool:
    if shown is None:
        return False
    try:
        return float(shown) == float(wanted)  # energy and power compared as numbers
    except ValueError:
        pass
    if "T" in wanted and "T" in shown:  # timestamps: HA normalises the offset notation
        from datetime import datetime

        try:
            return datetime.fromisoformat(shown) == datetime.fromisoformat(wanted)
        except ValueError:
            pass
    return shown == wanted


def assert_every_entity_registered_with_its_classes(sub: Subscriber, ha: HomeAssistant) -> tuple[dict, dict]:
    """Step 1: no config refused; every announced entity in the registry, on its device, with
    its classes and unit. Returns (announced configs, registry entries) by unique id."""

    def all_registered() -> bool:
        ha.assert_none_rejected()
        configs = announced(sub)
        return bool(configs) and configs.keys() <= ha.mqtt_entities().keys()

    wait_for(
        all_registered,
        timeout=90,
        interval=1,
        message="every announced entity in core.entity_registry",
    )
    configs, entities = announced(sub), ha.mqtt_entities()
    devices = {d["id"]: d for d in ha.registry("core.device_registry")["devices"]}
    problems = []
    for uid, config in sorted(configs.items()):
        entry = entities[uid]
        device = devices.get(entry["device_id"], {})
        wanted_device = ["mqtt", config["device"]["identifiers"][0]]
        if wanted_device not in device.get("identifiers", []):
            problems.append(f"{entry['entity_id']}: device {device.get('identifiers')} != {wanted_device}")
        for what, shown, wanted in (
            ("device class", entry.get("original_device_class"), config.get("device_class")),
            ("state class", (entry.get("capabilities") or {}).get("state_class"), config.get("state_class")),
            ("unit", entry.get("unit_of_measurement"), config.get("unit_of_measurement")),
        ):
            if shown != wanted:
                problems.append(f"{entry['entity_id']}: registry {what} {shown!r} != announced {wanted!r}")
    assert not problems, "\n".join(problems[:30])
    return configs, entities


def assert_every_enabled_entity_shows_its_value(sub: Subscriber, ha: HomeAssistant, configs: dict, entities: dict):
    """Step 2: the enabled entities show the bridge's values, with the announced attributes."""
    enabled = {uid: c for uid, c in configs.items() if not entities[uid]["disabled_by"]}
    matched: set[str] = set()
    last: dict[str, str] = {}

    def compare() -> bool:
        states = ha.states()  # Home Assistant first: the broker's document is then as new or newer
        with sub._lock:
            documents = dict(sub.messages)
        for uid, config in enabled.items():
            entity_id = entities[uid]["entity_id"]
            document = documents.get(config["state_topic"])
            if document is None:
                last[uid] = f"{entity_id}: no retained document on {config['state_topic']}"
                continue
            wanted = expected_state(config, json.loads(document))
            state = states.get(entity_id, {})
            attrs = state.get("attributes", {})
            wrong_attrs = [
                f"{k} {attrs.get(k)!r} != {config.get(k)!r}"
                for k in ("unit_of_measurement", "device_class", "state_class")
                if attrs.get(k) != config.get(k)
            ]
            if wrong_attrs:
                last[uid] = f"{entity_id}: attributes " + ", ".join(wrong_attrs)
            elif same(state.get("state"), wanted):
                matched.add(uid)
            else:
                last[uid] = f"{entity_id}: Home Assistant shows {state.get('state')!r}, bridge published {wanted!r}"
        return matched >= enabled.keys()

    try:
        wait_for(compare, timeout=45, interval=1, message="every enabled entity showing its value")
    except AssertionError:
        pass
    wrong = [last[uid] for uid in sorted(enabled.keys() - matched)]
    assert not wrong, f"{len(wrong)} of {len(enabled)} entities differ:\n" + "\n".join(wrong[:30])
    return enabled


def test_home_assistant_shows_every_entity_its_value_availability_and_grid_outage(system):
    sim, bridge, ha, sub = system
    serial = sim.serial
    started = time.monotonic()
    configs, entities = assert_every_entity_registered_with_its_classes(sub, ha)
    assert len(configs) > 50, f"only {len(configs)} entities announced"
    live = {uid for uid in configs if uid.startswith(f"{serial}_live_")}
    assert {f"{serial}_live_pv_power", f"{serial}_live_battery_power", f"{serial}_live_encharge_soc"} <= live
    enabled = assert_every_enabled_entity_shows_its_value(sub, ha, configs, entities)

    gateway = {
        entities[uid]["entity_id"] for uid, c in enabled.items() if c["device"]["identifiers"][0] == f"envoy_{serial}"
    }
    # Every entity of the gateway and its units; the bridge device's own (uptime, MQTT) stay available.
    everything = {
        entities[uid]["entity_id"]
        for uid, c in enabled.items()
        if not c["device"]["identifiers"][0].startswith("envoy_mqtt_")
    }
    bridge_own = {entities[uid]["entity_id"] for uid in enabled} - everything

    def states_of(ids):
        states = ha.states()
        return {i: states.get(i, {}).get("state") for i in ids}

    # 3. the gateway goes away: its entities (and its units') unavailable, the bridge's own not
    sim.stop_envoy()
    try:
        wait_for(
            lambda: set(states_of(everything).values()) == {"unavailable"},
            timeout=30,
            interval=0.5,
            message="every entity unavailable while the gateway is down",
        )
    except AssertionError as err:
        still = {i: s for i, s in states_of(everything).items() if s != "unavailable"}
        raise AssertionError(f"still available with the gateway down: {dict(list(still.items())[:20])}") from err
    assert sub.get(MqttConfig().availability_topic) == b"online", "the bridge itself went offline"
    assert bridge_own and "unavailable" not in states_of(bridge_own).values()
    assert sub.get(f"envoy/{serial}/availability") == b"offline"
    assert bridge.poll() is None, "the bridge exited"
    sim.start_envoy()
    try:
        wait_for(
            lambda: "unavailable" not in states_of(gateway).values(),
            timeout=60,
            interval=0.5,
            message="the gateway's entities back",
        )
    except AssertionError as err:
        still = sorted(i for i, s in states_of(gateway).items() if s == "unavailable")
        raise AssertionError(f"still unavailable after the gateway came back: {still[:20]}") from err

    # 4. a grid outage flips the grid status entity, the restore flips it back
    grid = entities[f"{serial}_grid_status"]["entity_id"]
    assert states_of([grid])[grid] == "on", f"{grid} is {states_of([grid])[grid]!r} before the outage, not 'on'"
    for event, wanted in (("grid_outage", "off"), ("grid_restore", "on")):
        sim.trigger(event)
        try:
            wait_for(
                lambda wanted=wanted: states_of([grid])[grid] == wanted,
                timeout=20,
                interval=0.3,
                message=f"{grid} {wanted}",
            )
        except AssertionError as err:
            raise AssertionError(
                f"after {event}: {grid} is {states_of([grid])[grid]!r}, expected {wanted!r} "
                f"(bridge published {sub.get(f'envoy/{serial}/grid/status')!r})"
            ) from err
    ha.assert_none_rejected()
    assert time.monotonic() - started < 180


@pytest.mark.parametrize("system", [("ac_battery", None)], indirect=True)
def test_a_battery_site_without_a_storage_ct_gets_computed_energy_for_the_energy_dashboard(system):
    sim, _, ha, sub = system
    serial = sim.serial
    wait_for(lambda: sub.get(f"envoy/{serial}/live") is not None, timeout=30, message="the live document")

    def computed() -> dict:
        state = json.loads(sub.get(f"envoy/{serial}/state") or b"{}")
        return state.get("computed_energy", {})

    wait_for(lambda: "battery_charged_wh" in computed(), timeout=60, message="computed battery energy")
    configs, entities = assert_every_entity_registered_with_its_classes(sub, ha)
    for key in ("computed_battery_charged", "computed_battery_discharged"):
        config, entry = configs[f"{serial}_{key}"], entities[f"{serial}_{key}"]
        assert (config["device_class"], config["state_class"]) == ("energy", "total_increasing")
        assert config["device"]["identifiers"] == [f"envoy_{serial}"]  # on the gateway's device
        assert entry["disabled_by"] is None  # on by default: the Energy dashboard lists it
    assert f"{serial}_live_acb_soc" in configs and f"{serial}_live_encharge_soc" not in configs
    assert f"{serial}_computed_grid_import" not in configs  # the net-consumption CT counts the grid itself
    assert_every_enabled_entity_shows_its_value(sub, ha, configs, entities)
    ha.assert_none_rejected()


@pytest.mark.parametrize("system", [("three_phase_battery", {"battery": True, "relays": True})], indirect=True)
def test_home_assistant_opens_a_relay_and_sets_the_reserve_through_the_bridge(system):
    sim, _, ha, sub = system
    serial = sim.serial
    configs, entities = assert_every_entity_registered_with_its_classes(sub, ha)
    relay = entities[f"{serial}_relay_NC1_relay_status"]["entity_id"]
    reserve_id = entities[f"{serial}_storage_reserve_soc"]["entity_id"]
    assert relay.startswith("switch.") and reserve_id.startswith("number.")
    assert configs[f"{serial}_relay_NC1_relay_status"]["retain"] is False
    assert_every_enabled_entity_shows_its_value(sub, ha, configs, entities)  # the controls' templates too
    wait_for(lambda: ha.states().get(relay, {}).get("state") == "on", timeout=30, message=f"{relay} on")
    controls = sim.source.world.controls
    wanted_reserve = 10 + (int(controls.storage()["reserved_soc"]) + 17) % 80  # anything but today's

    ha.call_service("switch", "turn_off", {"entity_id": relay})
    ha.call_service("number", "set_value", {"entity_id": reserve_id, "value": wanted_reserve})
    wait_for(lambda: controls.relay_status["NC1"] == "open", timeout=20, message="the simulator's NC1 open")
    wait_for(
        lambda: int(controls.storage()["reserved_soc"]) == wanted_reserve,
        timeout=20,
        message="the simulator's reserve set",
    )
    wait_for(lambda: ha.states().get(relay, {}).get("state") == "off", timeout=20, message=f"{relay} off in HA")
    wait_for(
        lambda: float(ha.states().get(reserve_id, {}).get("state") or -1) == wanted_reserve,
        timeout=20,
        message=f"{reserve_id} shows {wanted_reserve}",
    )
    ha.assert_none_rejected()
