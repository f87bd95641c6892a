"""Two bridge instances on one broker in a real Home Assistant (the newest supported release):
`kill -9` of one makes its gateway's entities unavailable (its last will) and leaves the other's
as they were; restarted, its entities come back.
"""

from __future__ import annotations

import pytest

from tests.support.homeassistant import VERSIONS, HomeAssistant
from tests.support.instances import Instance, two_instances
from tests.support.mqtt import Subscriber, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def entity_ids(ha: HomeAssistant, serial: str) -> set[str]:
    """The enabled entities of one gateway and its units, from Home Assistant's registry."""
    entries = ha.registry("core.entity_registry").get("entities", [])
    return {
        e["entity_id"]
        for e in entries
        if e["platform"] == "mqtt" and e["unique_id"].startswith(f"{serial}_") and not e["disabled_by"]
    }


def shown(ha: HomeAssistant, entities: set[str]) -> dict[str, str]:
    states = ha.states()
    return {entity: states.get(entity, {}).get("state", "absent") for entity in entities}


def all_available(ha: HomeAssistant, instance: Instance) -> set[str]:
    """The gateway's entities once Home Assistant shows every one of them available."""
    entities = entity_ids(ha, instance.sim.serial)
    states = shown(ha, entities)
    return entities if entities and "unavailable" not in states.values() and "absent" not in states.values() else set()


@pytest.mark.parametrize("home_assistant_venv", [VERSIONS[-1]], indirect=True)
def test_kill_9_of_one_instance_makes_only_its_entities_unavailable(tmp_path, mosquitto, home_assistant_venv):
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
    ha = HomeAssistant(home_assistant_venv, tmp_path / "ha", mosquitto.port)
    try:
        with two_instances(tmp_path, mosquitto) as (a, b):
            for instance in (a, b):
                sub.wait_topic(instance.gateway_availability, timeout=60, payload=b"online")
            ha.start()
            a_entities = wait_for(lambda: all_available(ha, a), 90, interval=1, message="a's entities available")
            b_entities = wait_for(lambda: all_available(ha, b), 90, interval=1, message="b's entities available")
            ha.assert_none_rejected()

            a.proc.kill()
            a.proc.wait(5)
            sub.wait_topic(a.availability, timeout=10, payload=b"offline")
            wait_for(
                lambda: set(shown(ha, a_entities).values()) == {"unavailable"},
                30,
                interval=1,
                message="every entity of a's gateway unavailable",
            )
            b_states = shown(ha, b_entities)
            assert "unavailable" not in b_states.values(), b_states
            assert len(a_entities) > 5 and len(b_entities) > 5

            a.start()
            wait_for(lambda: all_available(ha, a) == a_entities, 90, interval=1, message="a's entities back")
            assert "unavailable" not in shown(ha, b_entities).values()
    finally:
        ha.stop()
        sub.close()
