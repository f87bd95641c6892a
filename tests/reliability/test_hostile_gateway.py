"""Hostile input on the gateway side (issue 11, findings 4, 7 and 14), with the real bridge,
real Mosquitto and the HTTPS simulator on loopback.

- 4: a pinned gateway is HTTPS only. Whatever answers plain http where the gateway should be
  (an impostor with another serial, digest auth, a whole capture to publish) gets no request,
  nor does it once https has answered; an `insecure` gateway says so once, at start-up.
- 7: a cloud URL in plain http (the Enlighten password in clear text) is refused at start, with
  the key path and why; http to loopback stays allowed for the simulator and the tests.
- 14: an absurd firmware version in /info (5,000 digits, 10,000 parts) is one clear line and
  that gateway offline, never a traceback; the other gateway goes on publishing.

Pass means: the healthy gateway keeps publishing, nothing is published outside the bridge's
own topics, nothing from the impostor, and one clear log line per gateway and fault.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import yaml

from bridge.app import Bridge
from bridge.config import Config, GatewayConfig
from bridge.simulator import Simulator
from tests.reliability.impostor import IMPOSTOR_SERIAL, impostor
from tests.reliability.rig import FAST, bridge_config, cloud_config, gateway_config, patched_simulator
from tests.support.mqtt import Subscriber, bridge_node, wait_for
from tests.support.processes import bridge_cli, in_process, write_config

pytestmark = pytest.mark.integration

HEALTHY_SERIAL = "111111111111"
LIVING = "metered"  # a living scenario with meters: the state changes on every poll


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def bridge_running(config: Config) -> Iterator[Bridge]:
    """The real bridge in this process; a failed gateway is tried again after 2 s (the shortest backoff)."""
    with in_process(Bridge(config, worker_kw={"rng": lambda low, high: low})) as bridge:
        yield bridge


def state_messages(sub: Subscriber, serial: str) -> int:
    return sum(1 for topic, _ in list(sub.history) if topic == f"envoy/{serial}/state")


def assert_only_own_topics(sub: Subscriber, serials: set[str]) -> None:
    """Every topic is the bridge's own, under a known serial (or the bridge's availability)."""
    for topic in sub.messages:
        parts = topic.split("/")
        if parts[0] == "envoy":
            assert parts[1] in serials | {"bridge"}, topic
        else:
            assert parts[0] == "homeassistant" and (any(s in topic for s in serials) or parts[2] == bridge_node()), (
                topic
            )


def lines(caplog, needle: str, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level and needle in r.getMessage()]


def no_tracebacks(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert lines(caplog, "unexpected error") == []


# --- 4: a pinned gateway is HTTPS only -----------------------------------------------------------


def test_h11_4_pinned_gateway_without_scheme_never_falls_back_to_an_http_impostor(tmp_path, mosquitto, caplog):
    """https does not answer, an impostor answers plain http on the same address: no request to it."""
    with Simulator(serial=HEALTHY_SERIAL, scenario=LIVING) as sim, impostor() as fake:
        pinned = GatewayConfig(
            host="127.0.0.1",
            port=fake.server_address[1],  # `host` without scheme, as users write it
            fingerprint=sim.fingerprint,
            token_cache=tmp_path / "token-pinned.jwt",
            connect_timeout=2.0,
            read_timeout=5.0,
        )
        healthy = gateway_config(sim, tmp_path, serial=HEALTHY_SERIAL)
        config = bridge_config([healthy, pinned], tmp_path, cloud=cloud_config(sim), broker=mosquitto, poll=FAST)
        sub = Subscriber(mosquitto.host, mosquitto.port)
        try:
            with bridge_running(config):
                started = time.monotonic()
                sub.wait_topic(f"envoy/{HEALTHY_SERIAL}/state", timeout=30)
                first = state_messages(sub, HEALTHY_SERIAL)
                wait_for(lambda: fake.tls_refused >= 9, 30, message="three setups of the pinned gateway")
                seconds = time.monotonic() - started
                wait_for(lambda: state_messages(sub, HEALTHY_SERIAL) > first, 10, message="the healthy gateway")
            assert fake.plain_requests == []
            assert not any(IMPOSTOR_SERIAL in topic for topic in sub.messages)
            assert_only_own_topics(sub, {HEALTHY_SERIAL, "127.0.0.1"})
            outage = lines(caplog, "Gateway 127.0.0.1: unavailable")
            assert len(outage) == 1 and "unavailable: https: " in outage[0] and "/info: connection reset" in outage[0]
            assert "http:" not in outage[0]
            assert lines(caplog, "over http") == []
            no_tracebacks(caplog)
        finally:
            sub.close()
    print(
        f"\nh11_4 pinned: {fake.tls_refused} https attempts reset in {seconds:.1f} s, "
        f"{len(fake.plain_requests)} plain http requests, {state_messages(sub, HEALTHY_SERIAL)} healthy "
        f"state messages, {len(outage)} outage line"
    )


def test_h11_4_no_http_once_https_answered_even_for_a_gateway_that_may_be_old(tmp_path, mosquitto, caplog):
    """Unpinned, no token, no scheme (firmware < 7 may lack https): https worked, then stops
    answering and an impostor takes the port over plain http: an outage, not a downgrade."""
    sim, source = patched_simulator(serial=HEALTHY_SERIAL, auth="digest")
    source.firmware = "5.0.62"
    maybe_old = gateway_config(
        sim, tmp_path, scheme=None, fingerprint=None, insecure=True, username=None, password=None
    )
    with sim:
        maybe_old = replace(maybe_old, port=int(sim.envoy_host.rsplit(":", 1)[1]))
        config = bridge_config([maybe_old], tmp_path, broker=mosquitto, poll=FAST)
        sub = Subscriber(mosquitto.host, mosquitto.port)
        try:
            with bridge_running(config):
                sub.wait_topic(f"envoy/{HEALTHY_SERIAL}/state", timeout=30)
                assert lines(caplog, "firmware 5.0.62 over https, digest auth", logging.INFO)
                sim.stop_envoy()
                with impostor(maybe_old.port) as fake:
                    wait_for(lambda: fake.tls_refused >= 6, 30, message="two setups after the outage")
                    sub.wait_topic(f"envoy/{HEALTHY_SERIAL}/availability", 10, payload=b"offline")
            assert fake.plain_requests == []
            assert not any(IMPOSTOR_SERIAL in topic for topic in sub.messages)
            assert lines(caplog, "over http,", logging.INFO) == []
            assert len(lines(caplog, f"Gateway {HEALTHY_SERIAL}: unavailable")) == 1
            assert len(lines(caplog, "`insecure: true`")) == 1  # said once, at start-up
            no_tracebacks(caplog)
        finally:
            sub.close()
    print(f"\nh11_4 after https: {fake.tls_refused} https attempts reset, {len(fake.plain_requests)} plain http")


def test_h11_4_insecure_gateway_says_so_once_at_start_up_through_an_outage(tmp_path, mosquitto, caplog):
    with Simulator(serial=HEALTHY_SERIAL, scenario=LIVING) as sim:
        insecure = gateway_config(sim, tmp_path, scheme=None, fingerprint=None, insecure=True, serial=HEALTHY_SERIAL)
        config = bridge_config([insecure], tmp_path, cloud=cloud_config(sim), broker=mosquitto, poll=FAST)
        sub = Subscriber(mosquitto.host, mosquitto.port)
        availability = f"envoy/{HEALTHY_SERIAL}/availability"
        try:
            with bridge_running(config):
                sub.wait_topic(f"envoy/{HEALTHY_SERIAL}/state", timeout=30)
                sim.stop_envoy()
                sub.wait_topic(availability, 30, payload=b"offline")
                sim.start_envoy()
                sub.wait_topic(availability, 30, payload=b"online")
        finally:
            sub.close()
    warned = lines(caplog, "`insecure: true`")
    assert len(warned) == 1 and warned[0].startswith(f"{HEALTHY_SERIAL}: TLS certificate checks are OFF")
    outage = lines(caplog, f"Gateway {HEALTHY_SERIAL}: unavailable")
    assert len(outage) == 1 and "http:" not in outage[0]  # an Enlighten login: token firmware, https only
    print(f"\nh11_4 insecure: {len(warned)} warning through start, outage and recovery; {len(outage)} outage line")


# --- 7: the cloud password never in clear text ---------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ({"cloud": {"enlighten_url": "http://enlighten.enphaseenergy.com"}}, "cloud.enlighten_url"),
        ({"env": {"ENVOY_BRIDGE_CLOUD_ENTREZ_URL": "http://192.168.1.20:8080"}}, "cloud.entrez_url"),
    ],
)
def test_h11_7_http_cloud_url_refused_at_start_with_the_key_and_why(tmp_path, mosquitto, setting, key, monkeypatch):
    with Simulator() as sim:
        path = write_config(tmp_path, sim, mosquitto)
        config = yaml.safe_load(path.read_text())
        config["cloud"].update(setting.get("cloud", {}))
        path.write_text(yaml.safe_dump(config))
        for name, value in setting.get("env", {}).items():
            monkeypatch.setenv(name, value)  # the child process inherits it
        started = time.monotonic()
        checked = bridge_cli("check-config", "-c", str(path))
        ran = bridge_cli("run", "--once", "-c", str(path))
        seconds = time.monotonic() - started
        requests_seen = sum(sim.request_counts.values()) + sum(sim.cloud_counts.values())
    for result in (checked, ran):
        assert result.returncode == 2, result.stderr
        problem = [line for line in result.stderr.splitlines() if key in line]
        assert len(problem) == 1 and "clear text" in problem[0] and "loopback" in problem[0]
        assert "Traceback" not in result.stderr and sim.cloud_password not in result.stderr + result.stdout
    assert requests_seen == 0  # refused before anything was sent anywhere
    assert mosquitto.count("New client connected") == 0
    print(f"\nh11_7 {key}: exit 2 twice in {seconds:.1f} s, {requests_seen} requests sent")


def test_h11_7_http_to_loopback_stays_allowed_for_the_simulator(tmp_path, mosquitto):
    with Simulator() as sim:
        path = write_config(tmp_path, sim, mosquitto)
        text = path.read_text().replace(sim.cloud_url, "http://localhost:9")
        path.write_text(text.replace("entrez_url: http://localhost:9", "entrez_url: http://[::1]:9"))
        checked = bridge_cli("check-config", "-c", str(path))
    assert checked.returncode == 0, checked.stderr
    assert "http://localhost:9" in checked.stdout and "http://[::1]:9" in checked.stdout


# --- 14: an absurd firmware version is one line, not a traceback ----------------------------------


FIVE_THOUSAND_DIGITS = "5" * 5000 + ".0.1"


def test_h11_14_huge_firmware_in_run_once_is_one_clear_error_not_a_traceback(tmp_path, mosquitto):
    sim, source = patched_simulator()
    source.firmware = FIVE_THOUSAND_DIGITS
    with sim:
        path = write_config(tmp_path, sim, mosquitto)
        started = time.monotonic()
        result = bridge_cli("run", "--once", "-c", str(path))
        seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and FIVE_THOUSAND_DIGITS[:100] not in output
    said = [line for line in output.splitlines() if "unreadable firmware version" in line]
    assert len(said) == 2 and all("(5004 characters)" in line and len(line) < 300 for line in said)
    assert " ERROR bridge.mqtt.sinks: " in said[0] and said[1].startswith("error: gateway ")  # the log, the exit
    print(f"\nh11_14 run --once: exit 1 in {seconds:.1f} s, {len(output.splitlines())} output lines: {said[0]}")


@pytest.mark.parametrize("firmware", [FIVE_THOUSAND_DIGITS, ".".join(["1"] * 10_000)], ids=["digits", "parts"])
def test_h11_14_odd_firmware_in_run_is_one_line_per_outage_and_the_other_gateway_publishes(
    tmp_path, mosquitto, caplog, firmware
):
    odd_serial = "222222222222"
    sim_odd, source = patched_simulator(serial=odd_serial)
    source.firmware = firmware
    with Simulator(serial=HEALTHY_SERIAL, scenario=LIVING) as sim, sim_odd:
        gateways = [
            gateway_config(sim, tmp_path, serial=HEALTHY_SERIAL),
            gateway_config(sim_odd, tmp_path, serial=odd_serial),
        ]
        config = bridge_config(gateways, tmp_path, cloud=cloud_config(sim), broker=mosquitto, poll=FAST)
        sub = Subscriber(mosquitto.host, mosquitto.port)
        try:
            with bridge_running(config):
                started = time.monotonic()
                sub.wait_topic(f"envoy/{HEALTHY_SERIAL}/state", timeout=30)
                wait_for(lambda: sim_odd.request_counts.get("/info", 0) >= 3, 30, message="three setups")
                first = state_messages(sub, HEALTHY_SERIAL)
                wait_for(lambda: state_messages(sub, HEALTHY_SERIAL) > first, 10, message="the healthy gateway")
                seconds = time.monotonic() - started
        finally:
            sub.close()
    assert sub.get(f"envoy/{odd_serial}/availability") == b"offline"
    assert f"envoy/{odd_serial}/state" not in sub.messages
    assert_only_own_topics(sub, {HEALTHY_SERIAL, odd_serial})
    said = lines(caplog, f"Gateway {odd_serial}: unavailable")
    assert len(said) == 1 and "unreadable firmware version" in said[0] and len(said[0]) < 300
    assert sim_odd.request_counts.get("/auth/check_jwt", 0) == 0  # nothing sent past the odd /info
    no_tracebacks(caplog)
    print(
        f"\nh11_14 run ({len(firmware)} characters): {sim_odd.request_counts['/info']} setups refused in "
        f"{seconds:.1f} s, {len(said)} line, 0 tracebacks, {state_messages(sub, HEALTHY_SERIAL)} healthy state messages"
    )
