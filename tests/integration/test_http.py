"""Issue 16 part 3 end to end: a real bridge with `http:` against the simulator over HTTPS and a
real Mosquitto; `/healthz` turns 503 while the gateway hangs and 200 again once it is plainly
offline (the gateway's fault, not the bridge's), `/metrics` parsed by prometheus_client's own
parser, and the status page."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.app import Bridge
from bridge.config import load_config
from bridge.simulator import Simulator
from tests.support.http import get, with_http
from tests.support.mqtt import Subscriber, free_port, wait_for
from tests.support.processes import in_process, write_config

pytestmark = pytest.mark.integration

MAX_SILENCE_S = 8
POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 5}


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = get(port, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_metrics_and_the_page_follow_the_gateway(tmp_path, mosquitto):
    port = free_port()
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        config = write_config(tmp_path, sim, mosquitto, poll=POLL, timeouts={"read": 10})
        config = with_http(config, port, health={"max_silence": MAX_SILENCE_S})
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
        try:
            with in_process(Bridge(load_config(config, {}))):
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=60)
                status, text = get(port, "/healthz")
                assert (status, text.startswith("healthy: 1 of 1 gateway(s) online")) == (200, True), text

                metrics = wait_for(
                    lambda: (
                        (m := samples(port))
                        and ("envoy_bridge_production_power_watts", (("gateway", sim.serial),)) in m
                        and m
                    ),
                    30,
                )
                gw = (("gateway", sim.serial),)
                assert metrics[("envoy_bridge_gateway_online", gw)] == 1.0
                assert metrics[("envoy_bridge_production_power_watts", gw)] > 0  # 11:00, sunny
                assert metrics[("envoy_bridge_mqtt_connected", ())] == 1.0
                assert metrics[("envoy_bridge_gateway_requests_last_hour", (("endpoint", "/info"), *gw))] >= 1
                assert metrics[("envoy_bridge_gateway_token_days_left", gw)] > 300

                status, page = get(port, "/")
                assert (
                    status == 200
                    and f"Gateway {sim.serial}" in page
                    and '<span class="badge online">online</span>' in page
                )
                firmware = re.search(r"<dt>Firmware</dt><dd>([^<]+)</dd>", page)
                assert firmware and firmware.group(1) != "unknown"
                assert int(re.search(r'data-points="(\d+)"', page).group(1)) >= 1  # type: ignore[union-attr]
                assert "eyJ" not in page and sim.cloud_password not in page  # no token, no password

                sim.hang_next(seconds=120, count=1_000_000)  # connections open, never an answer
                status, text = wait_for(lambda: (r := get(port, "/healthz"))[0] == 503 and r, MAX_SILENCE_S + 30)
                assert text.startswith(f"unhealthy: nothing published for gateway {sim.envoy_host}"), text  # its label

                sim.stop_envoy()  # gone: offline is the gateway's fault, the bridge is healthy
                sub.wait_topic(f"envoy/{sim.serial}/availability", timeout=60, payload=b"offline")
                status, text = wait_for(lambda: (r := get(port, "/healthz"))[0] == 200 and r, 30)
                assert text.startswith("healthy: 0 of 1 gateway(s) online"), text
                page = get(port, "/")[1]
                assert '<span class="badge offline">offline</span>' in page
                assert re.search(r'<dt>Last error</dt><dd><span class="problem">[^<]+</span>', page), page
                assert samples(port)[("envoy_bridge_gateway_online", gw)] == 0.0
        finally:
            sub.close()
    with pytest.raises(ConnectionRefusedError):
        get(port, "/healthz")  # stopped with the bridge
