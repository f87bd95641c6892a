"""Home Assistant's birth message: at most one full republish per interval, one line per flood."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bridge.config import HomeAssistantConfig, load_config
from bridge.errors import ConfigError
from bridge.mqtt.birth import FLOOD_BIRTHS, BirthLimiter
from bridge.mqtt.guard import Guard
from tests.support.mqtt import wait_for

LOGGER = "bridge.mqtt.birth"


class Republishes:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.done = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self.done.set()


def limiter(republish, min_interval: float, delay: float = 0.0) -> BirthLimiter:
    return BirthLimiter(republish, min_interval, delay, lambda low, high: high, time.monotonic, Guard())


def lines(caplog, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= level]


@pytest.fixture(autouse=True)
def info(caplog):
    caplog.set_level(logging.INFO, LOGGER)


def test_the_first_birth_is_answered_after_home_assistants_delay_with_one_line(caplog):
    republished = Republishes()
    births = limiter(republished, min_interval=60.0, delay=0.1)
    started = time.monotonic()
    births.birth()
    assert republished.done.wait(5)
    assert republished.times[0] - started >= 0.09
    assert lines(caplog) == ["Home Assistant came online; announcing again in 0.1 s"]


def test_births_while_an_answer_is_pending_share_it():
    republished = Republishes()
    births = limiter(republished, min_interval=60.0, delay=0.2)
    for _ in range(5):
        births.birth()
    wait_for(lambda: republished.times, 5, message="the answer")
    time.sleep(0.3)
    assert len(republished.times) == 1 and births.stats == {"births": 5, "republishes": 1}


def test_h11_9_a_flood_of_births_costs_one_republish_per_interval_and_one_line_per_interval(caplog):
    republished = Republishes()
    births = limiter(republished, min_interval=0.5)
    births.birth()
    wait_for(lambda: republished.times, 5, message="the first answer")
    flood_started = time.monotonic()
    while time.monotonic() - flood_started < 1.2:  # about 2.4 intervals of births, every millisecond
        births.birth()
        time.sleep(0.001)
    wait_for(lambda: len(republished.times) >= 3, 5, message="the answers the flood is owed")
    time.sleep(0.7)  # an answer too many would come within this
    gaps = [b - a for a, b in zip(republished.times, republished.times[1:], strict=False)]
    assert len(republished.times) == 4 and all(gap >= 0.45 for gap in gaps), gaps
    warnings = lines(caplog, logging.WARNING)
    assert len(warnings) == 3 and all("full republish(es) in all" in w for w in warnings)
    assert "homeassistant.birth_republish_min_interval" in warnings[0]
    assert births.stats["births"] > 100 * FLOOD_BIRTHS
    assert len(lines(caplog)) == 4  # the first birth's line, then one per answer of the flood


def test_a_burst_shorter_than_home_assistants_delay_is_said_once_when_the_interval_is_over(caplog):
    republished = Republishes()
    births = limiter(republished, min_interval=0.5, delay=0.2)
    for _ in range(100):
        births.birth()
    wait_for(lambda: len(lines(caplog)) == 2, 5, message="the line about the burst")
    time.sleep(0.3)
    assert len(republished.times) == 1  # the burst shared the first answer
    assert lines(caplog)[0].startswith("Home Assistant came online")
    assert lines(caplog, logging.WARNING) == [lines(caplog)[1]]
    assert lines(caplog)[1].startswith("Home Assistant: 99 more birth messages in the last ")
    assert "answered with 1 full republish(es) in all" in lines(caplog)[1]


def test_a_birth_within_the_interval_is_answered_when_it_is_over_never_dropped(caplog):
    republished = Republishes()
    births = limiter(republished, min_interval=0.4)
    births.birth()
    wait_for(lambda: republished.times, 5, message="the first answer")
    births.birth()  # Home Assistant restarted again at once: answered, later
    births.birth()
    wait_for(lambda: len(republished.times) == 2, 5, message="the deferred answer")
    assert republished.times[1] - republished.times[0] >= 0.35
    assert "2 more birth messages in the last" in lines(caplog)[-1]  # a few: INFO, not a warning
    assert "answered with 2 full republish(es) in all" in lines(caplog)[-1]
    assert not lines(caplog, logging.WARNING)


def test_zero_interval_answers_every_birth_that_finds_no_answer_pending():
    republished = Republishes()
    births = limiter(republished, min_interval=0.0)
    for answered in range(1, 4):
        births.birth()
        wait_for(lambda n=answered: len(republished.times) == n, 5, message="an answer")
    assert len(republished.times) == 3


def test_cancel_drops_a_pending_answer():
    republished = Republishes()
    births = limiter(republished, min_interval=60.0, delay=0.2)
    births.birth()
    births.cancel()
    time.sleep(0.4)
    assert republished.times == []


def test_a_failing_republish_does_not_end_the_timer_thread_silently(caplog):
    def broken() -> None:
        raise OSError("paho queue gone")

    births = limiter(broken, min_interval=0.0)
    births.birth()
    wait_for(lambda: births.stats["republishes"] == 1, 5, message="the attempt")
    wait_for(lambda: any("birth republish failed" in r.getMessage() for r in caplog.records), 5, message="one line")


def test_the_interval_is_a_validated_setting_with_a_default_of_a_minute(tmp_path):
    assert HomeAssistantConfig().birth_republish_min_interval == 60.0
    path = tmp_path / "c.yaml"
    base = "gateways: [{host: envoy.local, tls: {insecure: true}}]\n"
    path.write_text(base + "homeassistant: {birth_republish_min_interval: 15}\n")
    assert load_config(path, {}).homeassistant.birth_republish_min_interval == 15.0
    env = {"ENVOY_BRIDGE_HOMEASSISTANT_BIRTH_REPUBLISH_MIN_INTERVAL": "30"}
    assert load_config(path, env).homeassistant.birth_republish_min_interval == 30.0
    for bad in ("-1", "nan", "soon", "[1]"):
        path.write_text(base + f"homeassistant: {{birth_republish_min_interval: {bad}}}\n")
        with pytest.raises(ConfigError, match=r"homeassistant\.birth_republish_min_interval"):
            load_config(path, {})
