"""examples/home-assistant/load-shedding.yaml in a real Home Assistant (oldest and newest
supported release), with the bridge's relay controls on and the simulator's three-phase gateway
with an IQ System Controller and its dry-contact relays (installed with no automatic action, so
only the automation moves them). The example goes into automations.yaml as a user puts it
there, its entity ids those Home Assistant registered, and is reloaded: a grid outage opens
relay NC1 within 2 s (the figure is printed), the grid back closes it again after the
automation's 10 s of steady grid."""

from __future__ import annotations

import re

import pytest

from tests.support.homeassistant import HomeAssistant, announced
from tests.support.mqtt import Subscriber, seconds_until, wait_for
from tests.support.processes import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLE = REPO / "examples" / "home-assistant" / "load-shedding.yaml"
EXAMPLE_SERIAL, RELAY = "999000000003", "NC1"
ENTITY_ID = re.compile(r"\b[a-z_]+\.[a-z0-9_]+\b")


def as_registered(text: str, serial: str, sub: Subscriber, ha: HomeAssistant) -> str:
    """The example with this gateway's serial, and the entity ids the bridge asks for replaced by
    those Home Assistant gave (releases before 2025.10 name entities after their device)."""
    entities = ha.mqtt_entities()
    given = {
        config["default_entity_id"]: entities[uid]["entity_id"]
        for uid, config in announced(sub).items()
        if uid in entities
    }
    text = text.replace(EXAMPLE_SERIAL, serial)
    return ENTITY_ID.sub(lambda m: given.get(m.group(), m.group()), text)


@pytest.mark.parametrize("system", [("three_phase_battery", {"relays": True})], indirect=True)
def test_the_automation_sheds_the_load_within_2_s_of_an_outage_and_feeds_it_when_the_grid_is_back(system):
    sim, _, ha, sub = system
    serial, relays = sim.serial, sim.source.world.controls.relay_status
    grid_uid, relay_uid = f"{serial}_grid_status", f"{serial}_relay_{RELAY}_relay_status"
    wait_for(lambda: {grid_uid, relay_uid} <= ha.mqtt_entities().keys(), timeout=90, message="the two entities")
    automation = as_registered(EXAMPLE.read_text(), serial, sub, ha)
    grid, relay = (ha.mqtt_entities()[uid]["entity_id"] for uid in (grid_uid, relay_uid))
    assert grid in automation and relay in automation, automation
    ha.set_automations(automation)

    def state(entity_id: str) -> str | None:
        return ha.states().get(entity_id, {}).get("state")

    wait_for(lambda: state("automation.envoy_load_shedding") == "on", timeout=30, message="the automation loaded")
    wait_for(lambda: state(grid) == "on" and state(relay) == "on", timeout=30, message="grid on, relay closed")
    assert relays[RELAY] == "closed"

    seconds = seconds_until(lambda: sim.trigger("grid_outage"), lambda: relays[RELAY] == "open", message="NC1 open")
    print(f"\nHome Assistant load shedding: grid outage -> relay {RELAY} open in {seconds:.2f} s")
    assert seconds < 2, f"the load was shed {seconds:.2f} s after the outage"
    wait_for(lambda: state(relay) == "off", timeout=20, message=f"{relay} off in Home Assistant")

    seconds = seconds_until(
        lambda: sim.trigger("grid_restore"), lambda: relays[RELAY] == "closed", timeout=40, message="NC1 closed"
    )
    print(f"Home Assistant load shedding: grid back -> relay {RELAY} closed in {seconds:.2f} s (10 s of it on purpose)")
    assert seconds >= 10, "the automation closed the relay before the grid had been back 10 s"
    wait_for(lambda: state(relay) == "on", timeout=20, message=f"{relay} on in Home Assistant")
    ha.assert_none_rejected()
