"""Issue 11 finding 6: numbers that never lie, against a real Mosquitto and the HTTPS simulator.

Two living simulated gateways (real HTTPS, real token auth) publish through one real Publisher
to a real Mosquitto; one of them turns hostile: its lifetime counters read 0, negative, 1e308
or 3.1 MWh back (6a), or its CT readings name a key twice (6b). Pass means: the healthy gateway
keeps publishing, and so does the hostile one's healthy data; nothing is published outside the
bridge's own topics; no published lifetime counter ever goes back, to 0 or beyond 1 TWh; one
WARNING line per streak.
"""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from bridge.model.guard import ABSURD_WH, MONOTONE, STATE, kind_of
from bridge.mqtt.publisher import Publisher
from bridge.simulator import Simulator
from tests.reliability.rig import FAST, PatchedSource, SteppedGateway, bridge_config
from tests.support.clock import FakeClock
from tests.support.mqtt import Subscriber, wait_for

pytestmark = pytest.mark.integration
HOSTILE, HEALTHY = "999000000061", "999000000062"
READINGS, PRODUCTION = "/ivp/meters/readings", "/production.json"
# What the hostile gateway's CTs and production report say, one glitch per answer, in turn.
GLITCHES = (0, -5, 1e308, "3.1 MWh back")
STEADY_S, HOSTILE_S, AFTER_S = 40.0, 90.0, 30.0


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


class Rig:
    """Two stepped gateways on their own fake clocks, one Publisher, one Mosquitto, one subscriber."""

    def __init__(self, folder, broker):
        config = bridge_config([], folder, broker=broker)
        self.publisher = Publisher(config.mqtt, config.homeassistant)
        self.publisher.start()
        assert self.publisher.wait_connected(10)
        self.subscriber = Subscriber(broker.host, broker.port)
        self.gateways: dict[str, SteppedGateway] = {}
        self.sims: list[Simulator] = []
        self.source: PatchedSource | None = None
        for serial in (HOSTILE, HEALTHY):
            clock = FakeClock()
            # the physics of a living gateway at noon (values that move), served through overrides
            living = Simulator(serial=serial, scenario="metered", start="12:00", time_func=clock.time).source
            source = PatchedSource(living)
            sim = Simulator(source=source, serial=serial, time_func=clock.time).start()
            self.sims.append(sim)
            self.gateways[serial] = SteppedGateway(sim, folder, clock, self.publisher, poll=FAST)
            if serial == HOSTILE:
                self.source = source

    def run_for(self, seconds: float) -> None:
        """Both gateways, in step, `seconds` of fake time."""
        end = {serial: gw.clock.now + seconds for serial, gw in self.gateways.items()}
        while any(gw.clock.now < end[s] for s, gw in self.gateways.items()):
            for serial, gw in self.gateways.items():
                if gw.clock.now < end[serial]:
                    gw.step()

    def states(self, serial: str) -> list[dict]:
        topic = f"envoy/{serial}/state"
        return [json.loads(payload) for t, payload in list(self.subscriber.history) if t == topic]

    def settle(self) -> None:
        """Everything sent has reached the subscriber (QoS 1, acknowledged)."""
        assert self.publisher.flush(10)
        time.sleep(0.3)

    def close(self) -> None:
        for gw in self.gateways.values():
            gw.close()
        for sim in self.sims:
            sim.stop()
        self.subscriber.close()
        self.publisher.stop(1)


@pytest.fixture
def rig(tmp_path, mosquitto):
    rig = Rig(tmp_path, mosquitto)
    yield rig
    rig.close()


def glitching(source: PatchedSource, path: str, rewrite):
    """An override of `path` that rewrites the living answer with the next glitch each time."""
    turn = {"n": 0}

    def answer():
        query = "details=1" if path == PRODUCTION else ""
        status, content_type, body = source.inner.answer(path, query)
        glitch = GLITCHES[turn["n"] % len(GLITCHES)]
        turn["n"] += 1
        return status, content_type, json.dumps(rewrite(json.loads(body), glitch)).encode()

    return answer


def _wrong(value, glitch):
    return value - 3_100_000 if glitch == "3.1 MWh back" else glitch


def bad_ct_energies(readings, glitch):
    for meter in readings:
        for node in (meter, *meter.get("channels", ())):
            node["actEnergyDlvd"] = _wrong(node["actEnergyDlvd"], glitch)
            node["actEnergyRcvd"] = _wrong(node["actEnergyRcvd"], glitch)
    return readings


def bad_lifetimes(report, glitch):
    for entry in report.get("production", []) + report.get("consumption", []):
        for node in (entry, *entry.get("lines", ())):
            if "whLifetime" in node:
                node["whLifetime"] = _wrong(node["whLifetime"], glitch)
    return report


def counters(document, path=()):
    """(path, value) of every MONOTONE counter of a state document."""
    for key, value in document.items():
        if isinstance(value, dict):
            yield from counters(value, (*path, key))
        elif kind_of(STATE, (*path, key)) == MONOTONE:
            yield (*path, key), value


def warnings(caplog, needle):
    """The gateway side's WARNING lines (the publisher's own, about the broker, are other tests' business)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bridge.gateway.") and r.levelno >= logging.WARNING and needle in r.getMessage()
    ]


def own_topics_only(rig):
    topics = {topic for topic, _ in list(rig.subscriber.history)}
    assert topics and all(re.match(r"^(envoy|homeassistant)/[\w/-]+$", t) for t in topics), topics


def test_h11_6a_lifetime_glitches_never_reach_the_broker_and_the_healthy_gateway_flows(rig, caplog):
    rig.run_for(STEADY_S)
    wait_for(lambda: rig.states(HOSTILE) and rig.states(HEALTHY), 10, message="both states")
    before = {s: len(rig.states(s)) for s in (HOSTILE, HEALTHY)}
    rig.source.overrides[READINGS] = glitching(rig.source, READINGS, bad_ct_energies)
    rig.source.overrides[PRODUCTION] = glitching(rig.source, PRODUCTION, bad_lifetimes)
    started = time.monotonic()
    rig.run_for(HOSTILE_S)
    rig.settle()
    during = {s: len(rig.states(s)) - before[s] for s in (HOSTILE, HEALTHY)}
    rig.source.overrides.clear()
    rig.run_for(AFTER_S)
    rig.settle()
    elapsed = time.monotonic() - started

    history = rig.states(HOSTILE)
    series: dict[tuple, list] = {}
    for state in history:
        for path, value in counters(state):
            series.setdefault(path, []).append(value)
    assert len(series) >= 8  # CT delivered/received (and phases), grid import/export, production, consumption
    for path, values in series.items():
        assert all(isinstance(v, int) and 0 <= v < ABSURD_WH for v in values), (path, values)
        assert values == sorted(values), path  # never back, never to 0: no meter reset in Home Assistant
    assert during[HEALTHY] >= 20 and during[HOSTILE] >= 20  # the power values still flow, every few seconds
    lines = warnings(caplog, "counter glitch")
    # One line per streak, however many counters: the CTs' streak and the production report's
    # begin at different polls (their poll groups), so two lines in 90 s, then nothing more.
    assert len(lines) == 2 and all(HOSTILE in line for line in lines), lines
    assert not warnings(caplog, HEALTHY)
    diagnostics = json.loads(rig.subscriber.get(f"envoy/{HOSTILE}/diagnostics"))
    assert diagnostics["counter_glitches"] > 0
    assert json.loads(rig.subscriber.get(f"envoy/{HEALTHY}/diagnostics"))["counter_glitches"] == 0
    last = dict(counters(history[-1]))
    assert (
        last[("production", "energy_lifetime_wh")]
        > dict(counters(history[before[HOSTILE] - 1]))[("production", "energy_lifetime_wh")]
    )  # counting again after the streak
    own_topics_only(rig)
    print(  # the figures of docs/reliability.md's hostile-input rows (pytest -s)
        f"\n6a: {during[HOSTILE]} hostile and {during[HEALTHY]} healthy state messages in {HOSTILE_S:.0f} fake s, "
        f"{diagnostics['counter_glitches']} values held, {len(series)} counters, {len(lines)} WARNING line, "
        f"{elapsed:.1f} s real"
    )


def test_h11_6b_a_duplicated_key_drops_that_endpoint_only(rig, caplog):
    rig.run_for(STEADY_S)

    def duplicated():
        status, content_type, body = rig.source.inner.answer(READINGS, "")
        # the same key twice in the first CT: Python's json would silently keep the last value
        return status, content_type, body.replace(b'"activePower":', b'"activePower": -99999, "activePower":', 1)

    rig.source.overrides[READINGS] = duplicated
    rig.run_for(3)  # the meters group (every second) reads the damaged body
    rig.settle()
    mark, healthy_mark = len(rig.states(HOSTILE)), len(rig.states(HEALTHY))
    rig.run_for(60)
    rig.settle()
    hostile = rig.states(HOSTILE)[mark:]
    assert hostile and all("meters" not in s and s["production"]["power_w"] >= 0 for s in hostile)
    assert all(s["production"]["power_w"] != -99999 for s in hostile)
    lines = warnings(caplog, "duplicate key")
    assert len(lines) == 1 and READINGS in lines[0] and "'activePower'" in lines[0], lines
    healthy = rig.states(HEALTHY)[healthy_mark:]
    assert len(healthy) >= 20 and all("meters" in s for s in healthy)
    rig.source.overrides.clear()
    rig.run_for(20)
    rig.settle()
    assert "meters" in rig.states(HOSTILE)[-1]  # back once the body is whole again
    own_topics_only(rig)
    print(
        f"\n6b: {len(hostile)} hostile states without meters and with production, {len(healthy)} healthy states "
        f"in 60 fake s, {len(lines)} WARNING line"
    )
