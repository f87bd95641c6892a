"""The status page in a real headless browser (Debian's chromium): rendered on a phone (390 px)
and a desktop, with screenshots kept in tests/artifacts/ (ignored by git) for a person to look at,
and the rendered DOM asserted: the gateway's row with its firmware, the chart with its points."""

from __future__ import annotations

import re

import pytest

from bridge.app import Bridge
from bridge.config import load_config
from bridge.simulator import Simulator
from tests.support.chromium import ARTIFACTS, Chromium, install
from tests.support.http import get, with_http
from tests.support.mqtt import Subscriber, free_port, wait_for
from tests.support.processes import in_process, write_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]

POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 5}
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    try:
        return install()
    except RuntimeError as err:
        pytest.skip(f"no chromium: {err}")


def points_on_page(port: int) -> int:
    found = re.search(r'data-points="(\d+)"', get(port, "/")[1])
    return int(found.group(1)) if found else 0


def test_the_status_page_renders_on_a_phone_and_a_desktop(tmp_path, mosquitto, chromium_binary):
    port = free_port()
    browser = Chromium(chromium_binary, tmp_path / "chromium-profile")
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        config = with_http(write_config(tmp_path, sim, mosquitto, poll=POLL), port)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
        try:
            with in_process(Bridge(load_config(config, {}))):
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=60)
                wait_for(lambda: points_on_page(port) >= 3, 60, interval=1, message="three points on the chart")
                url = f"http://127.0.0.1:{port}/"
                shots = {
                    name: browser.screenshot(url, ARTIFACTS / f"status-page-{name}.png", *size)
                    for name, size in SIZES.items()
                }
                dom = browser.dom(url)
        finally:
            sub.close()
    for name, shot in shots.items():
        print(f"\nstatus page screenshot ({name}): {shot}")
        assert shot.stat().st_size > 5000 and shot.read_bytes().startswith(b"\x89PNG")
    assert f"Gateway {sim.serial}" in dom and '<span class="badge online">online</span>' in dom
    firmware = re.search(r"<dt>Firmware</dt><dd>([^<]+)</dd>", dom)
    assert firmware and re.fullmatch(r"\d+(\.\d+)+", firmware.group(1)), firmware
    assert int(re.search(r'data-points="(\d+)"', dom).group(1)) >= 3  # type: ignore[union-attr]
    line = re.search(r'class="line production" d="([^"]*)"', dom)
    assert line and line.group(1).count("L") >= 2  # a line, not a dot
    assert '<p class="verdict ok" role="status">healthy: 1 of 1 gateway(s) online' in dom
