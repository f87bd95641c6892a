"""A site with no local access, in a real Home Assistant: the bridge in `cloud_api.mode: only`
against the simulator's fake cloud API v4 (its clock standing still, so the values hold), the
bridge's command line in its own process, Mosquitto, and Home Assistant (oldest and newest
supported release). Home Assistant registers every announced entity with its classes, shows the
bridge's values, and the Energy dashboard's entities (energy, total_increasing) show the fake
cloud's own numbers."""

from __future__ import annotations

import pytest

from tests.clients.test_home_assistant import (
    assert_every_enabled_entity_shows_its_value,
    assert_every_entity_registered_with_its_classes,
)
from tests.integration.test_cloud_api_bridge import expected_from_fake, living
from tests.support.cloudapi import authorize, write_cloud_only_config
from tests.support.homeassistant import HomeAssistant
from tests.support.mqtt import Subscriber
from tests.support.processes import REPO, bridge_command, start_logged, stop_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_energy_dashboard_entities_show_the_fake_cloud_s_values(tmp_path, mosquitto, home_assistant_venv):
    with living() as sim:
        config = write_cloud_only_config(tmp_path, sim, mosquitto, spread=False)
        authorize(config)
        bridge = start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#", "homeassistant/#"))
        ha = HomeAssistant(home_assistant_venv, tmp_path / "ha", mosquitto.port)
        serial = sim.serial
        try:
            sub.wait_topic(f"envoy/{serial}/availability", timeout=60, payload=b"online")
            ha.start()
            configs, entities = assert_every_entity_registered_with_its_classes(sub, ha)
            assert_every_enabled_entity_shows_its_value(sub, ha, configs, entities)
            expected = expected_from_fake(sim)
            states = ha.states()
        finally:
            ha.stop()
            sub.close()
            stop_process(bridge)
    energy = {
        "lifetime_production": expected["production"]["energy_lifetime_wh"],
        "daily_production": expected["production"]["energy_today_wh"],
        "daily_consumption": expected["consumption"]["energy_today_wh"],
        "cloud_lifetime_production": expected["production"]["energy_lifetime_wh"],
    }
    for key, wh in energy.items():
        state = states[entities[f"{serial}_{key}"]["entity_id"]]
        attributes = state["attributes"]
        assert (attributes["device_class"], attributes["state_class"]) == ("energy", "total_increasing"), key
        assert float(state["state"]) == wh, key
    power = states[entities[f"{serial}_production"]["entity_id"]]
    assert float(power["state"]) == expected["production"]["power_w"]
    status = states[entities[f"{serial}_cloud_system_status"]["entity_id"]]
    assert status["state"] == "normal"
