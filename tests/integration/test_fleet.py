"""A fleet's broker layout (docs/fleet.md): the bridge publishes to an edge Mosquitto on its site,
which forwards `envoy/#` and `homeassistant/#` to a central Mosquitto over a Mosquitto bridge
(`connection`, `topic ... out 1`, `cleansession false`, a persistent edge).

The central broker holds every retained topic the edge holds, payload for payload. While a
crashed edge is down the central still says the bridge is online (its last will died with the
edge) and the edge link's notification says `0`; after the edge restarts, the bridge reconnects and the
central follows: the link `1`, the bridge's availability `online` again, new states.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest

from bridge.simulator import Simulator
from tests.support.mqtt import Mosquitto, Subscriber, free_port, wait_for
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 5, "grid": 1}
FORWARDED = ("envoy/#", "homeassistant/#")


def edge_bridge(central: Mosquitto, site: str) -> tuple[str, ...]:
    """The edge's `connection` section, as a site's broker forwards to the central one."""
    return (
        f"connection {site}",
        f"address {central.host}:{central.port}",
        f"remote_clientid edge-{site}",
        "cleansession false",  # the central keeps the edge's session across a reconnect
        "restart_timeout 1 5",  # back within seconds in a test (the default backs off to 30 s)
        *(f"topic {pattern} out 1" for pattern in FORWARDED),
    )


def retained_on(broker: Mosquitto, settle: float = 1.0) -> dict[str, bytes]:
    """Every retained message the broker holds under the forwarded topics, read by a fresh client."""
    found: dict[str, bytes] = {}
    lock = threading.Lock()

    def keep(client, userdata, message) -> None:
        if message.retain:  # held by the broker, not a message published meanwhile
            with lock:
                found[message.topic] = message.payload

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"retained-{free_port()}")
    client.on_message = keep
    client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in FORWARDED]
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        time.sleep(settle)
        with lock:
            return dict(found)
    finally:
        client.loop_stop()
        client.disconnect()


def test_the_central_broker_holds_what_the_edge_holds_and_follows_an_edge_restart(tmp_path):
    central = Mosquitto(tmp_path, persistence=True).start()
    edge = Mosquitto(tmp_path, persistence=True, extra=edge_bridge(central, "site-a")).start()
    watch = None
    try:
        with Simulator(scenario="metered", time_factor=1, start="11:00") as sim:
            config = write_config(tmp_path, sim, edge, poll=POLL, instance_id="site-a")
            bridge = start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)
            try:
                watch = Subscriber(central.host, central.port, topics=(*FORWARDED, "$SYS/broker/connection/#"))
                availability, state = "envoy/bridge/site-a/availability", f"envoy/{sim.serial}/state"
                watch.wait_topic(availability, timeout=60, payload=b"online")
                watch.wait_topic(f"homeassistant/sensor/{sim.serial}/live_pv_power/config", timeout=60)
                time.sleep(2)  # the read-back is over, every config is out

                def same_on_both() -> dict[str, bytes]:
                    on_edge = retained_on(edge)
                    return on_edge if on_edge == retained_on(central) else {}

                held = wait_for(same_on_both, 30, interval=1, message="the same retained topics on both")
                assert {availability, state, f"envoy/{sim.serial}/availability"} <= held.keys()
                assert sum(t.startswith("homeassistant/") for t in held) > 10

                link = "$SYS/broker/connection/edge-site-a/state"  # Mosquitto's notification, with a will
                assert watch.wait_topic(link) == b"1"
                edge.kill()  # the site's broker crashes (a power cut), and comes back
                # The central cannot hear the bridge's last will (the edge died with it): it still
                # holds `online`; the edge link's own will says the site is cut off.
                watch.wait_topic(link, timeout=10, payload=b"0")
                assert retained_on(central)[availability] == b"online"
                mark = len(watch.history)
                edge.start()
                watch.wait_topic(link, timeout=30, payload=b"1")
                wait_for(
                    lambda: (availability, b"online") in watch.history[mark:], 60, message="online again at the central"
                )
                wait_for(
                    lambda: sum(t == state for t, _ in watch.history[mark:]) >= 2, 60, message="states flowing again"
                )
                assert wait_for(same_on_both, 30, interval=1, message="the same retained topics after the restart")
                assert "Traceback" not in (tmp_path / "bridge.log").read_text()
            finally:
                stop_process(bridge)
    finally:
        if watch:
            watch.close()
        edge.stop()
        central.stop()
