"""Several bridge instances on one broker (docs/fleet.md): two `run` processes, each with its own
instance id and its own simulated gateway, on one real Mosquitto, watched by a paho subscriber.

`kill -9` of one leaves the broker its last will: only its availability goes offline, the
other's bridge and gateway stay online, and nobody's discovery configs change (the victim's
stay too: Home Assistant shows them unavailable, not gone). Restarted, it comes back online
and announces nothing twice.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support.instances import two_instances
from tests.support.mqtt import Subscriber, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def configs_of(sub: Subscriber, serial: str) -> dict[str, bytes]:
    """The discovery configs of one gateway as the subscriber last saw them."""
    with sub._lock:
        return {t: p for t, p in sub.messages.items() if t.startswith("homeassistant/") and f"/{serial}/" in t}


def test_kill_9_of_one_instance_takes_only_its_gateways_offline(tmp_path, mosquitto):
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#", "homeassistant/#"))
    try:
        with two_instances(tmp_path, mosquitto) as (a, b):
            for instance in (a, b):
                sub.wait_topic(instance.availability, timeout=60, payload=b"online")
                sub.wait_topic(instance.gateway_availability, timeout=60, payload=b"online")
            wait_for(lambda: configs_of(sub, a.sim.serial), 30, message="a's configs")
            # b's live entities are announced with its first fresh live sample: then all are out
            sub.wait_topic(f"homeassistant/sensor/{b.sim.serial}/live_pv_power/config", timeout=30)
            time.sleep(2)
            a_configs, b_configs = configs_of(sub, a.sim.serial), configs_of(sub, b.sim.serial)
            # each gateway's entities follow the instance that serves it
            for serial, instance, configs in ((a.sim.serial, a, a_configs), (b.sim.serial, b, b_configs)):
                for topic, payload in configs.items():
                    topics = [entry["topic"] for entry in json.loads(payload)["availability"]]
                    assert topics == [instance.availability, f"envoy/{serial}/availability"], topic
            b_news = f"envoy/{b.sim.serial}/"  # metered: its live data move every 5 s
            mark = len(sub.history)

            a.proc.kill()  # SIGKILL: no code of the bridge runs; the broker sends its last will
            a.proc.wait(5)
            sub.wait_topic(a.availability, timeout=10, payload=b"offline")
            wait_for(  # the survivor goes on publishing
                lambda: any(t.startswith(b_news) for t, _ in sub.history[mark:]), 30, message="news of b"
            )
            assert sub.get(b.availability) == b"online"
            assert sub.get(b.gateway_availability) == b"online"
            assert sub.get(a.gateway_availability) == b"online"  # as a left it: its bridge's will says the rest
            after = sub.history[mark:]
            assert (a.availability, b"offline") in after
            assert not [t for t, _ in after if t in (b.availability, b.gateway_availability)], after
            assert not [t for t, _ in after if t.startswith(f"envoy/{a.sim.serial}/")], "a published after its death"
            assert not [t for t, _ in after if t.startswith("homeassistant/")], "a config changed"
            assert configs_of(sub, b.sim.serial) == b_configs and configs_of(sub, a.sim.serial) == a_configs

            mark = len(sub.history)
            a.start()  # restarted: online again, its configs already on the broker as they are
            sub.wait_topic(a.availability, timeout=60, payload=b"online")
            wait_for(lambda: sub.history[mark:].count((a.gateway_availability, b"online")), 30, message="a's gateway")
            time.sleep(2)
            resent = [t for t, _ in sub.history[mark:] if t.startswith("homeassistant/")]
            assert not resent, f"configs sent again after the restart: {resent[:5]}"
            assert configs_of(sub, b.sim.serial) == b_configs
            for instance in (a, b):
                assert "Traceback" not in instance.output()
    finally:
        sub.close()
