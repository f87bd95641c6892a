"""Hostile input on the bridge's own files and names (issue 11, findings 8, 10, 12, 13 and the
health rule), with the real bridge, real Mosquitto and the HTTPS simulator on loopback.

- 8: a world-writable cache directory with `health` (and the token cache) pointed at another
  file: the bridge (root here, as often) never writes through the link, tightens the directory
  to 0700 with one warning, and publishes as usual; a cache directory owned by someone else is
  refused at start with one line (exit 2).
- health: `health` (the Docker HEALTHCHECK, run with no configuration) says unhealthy, in one
  line, when paho's network thread or a gateway's worker thread dies, or an online gateway
  stops publishing; the other gateway keeps publishing meanwhile.
- 10: two gateways on one host, told apart by their port: each its own token cache and label;
  a restart costs no cloud login, and neither does the upgrade (the old shared cache is read).
- 12: a configuration or secret file that is not UTF-8: one line naming the file, exit 2.
- 13: a YAML alias bomb: refused at once, in a few MB, exit 2.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bridge.app import Bridge
from bridge.config import load_config
from bridge.config.schema import HealthConfig
from bridge.health import verdict
from bridge.simulator import Simulator
from tests.reliability.rig import FAST, bridge_config, cloud_config, gateway_config
from tests.support.mqtt import Subscriber, bridge_node, wait_for
from tests.support.processes import REPO, bridge_cli, bridge_command, in_process, running_bridge, write_config

pytestmark = pytest.mark.integration

LIVING = "metered"  # CT meters at midday: the state changes on every poll, so each poll publishes
SECRET = b"one Enphase cloud signs for both gateways"
OTHER_UID = 54321
# The fastest polling a configuration file may ask for (the floors of bridge/config/schema.py).
QUICKEST = {"meters": 5, "grid": 1, "energy": 5, "inverters": 5, "batteries": 5, "info": 60}


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


# --- helpers -----------------------------------------------------------------------------------


def docker_health(cache_dir: Path) -> tuple[int, list[str]]:
    """`envoy-mqtt-bridge health --max-age 300` as the Docker image runs it: no configuration file,
    the cache directory from ENVOY_BRIDGE_CACHE_DIR."""
    result = subprocess.run(
        bridge_command("health", "--max-age", "300"),
        env={**os.environ, "ENVOY_BRIDGE_CACHE_DIR": str(cache_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def states(sub: Subscriber, serial: str) -> int:
    return sum(1 for topic, _ in list(sub.history) if topic == f"envoy/{serial}/state")


def assert_only_own_topics(sub: Subscriber, serials: set[str]) -> None:
    for topic in list(sub.messages):
        parts = topic.split("/")
        if parts[0] == "envoy":
            assert parts[1] in serials | {"bridge"}, topic
        else:
            assert parts[0] == "homeassistant" and (any(s in topic for s in serials) or parts[2] == bridge_node()), (
                topic
            )


def warnings(caplog, needle: str = "") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and needle in r.getMessage()]


@contextmanager
def two_simulators(**kw) -> Iterator[tuple[Simulator, Simulator]]:
    """Two gateways whose tokens come from the first one's cloud (one Enlighten account)."""
    with (
        Simulator(serial="111111111111", scenario=LIVING, start="12:00", token_secret=SECRET, **kw) as first,
        Simulator(serial="222222222222", scenario=LIVING, start="12:00", token_secret=SECRET, **kw) as second,
    ):
        yield first, second


@contextmanager
def bridge_running(config) -> Iterator[Bridge]:
    """The real bridge in this process, writing its health document twice a second."""
    bridge = Bridge(config, worker_kw={"rng": lambda low, high: low})
    bridge.health.every_s = 0.5
    with in_process(bridge):
        yield bridge


@contextmanager
def healthy_pair(tmp_path, broker, max_silence: float = 0.0) -> Iterator[tuple[Bridge, Subscriber, list[Simulator]]]:
    """Two gateways published by one bridge; yields once both publish and `health` says healthy."""
    with two_simulators() as sims:
        gateways = [gateway_config(sim, tmp_path, serial=sim.serial) for sim in sims]
        config = bridge_config(gateways, tmp_path, cloud=cloud_config(sims[0]), broker=broker, poll=FAST)
        config = replace(config, health=HealthConfig(max_silence=max_silence))
        sub = Subscriber(broker.host, broker.port)
        try:
            with bridge_running(config) as bridge:
                for sim in sims:
                    sub.wait_topic(f"envoy/{sim.serial}/state", timeout=30)
                wait_for(lambda: verdict(config.health_file, time.time(), 300)[0], 10, message="healthy")
                yield bridge, sub, sims
            assert_only_own_topics(sub, {sim.serial for sim in sims})
        finally:
            sub.close()


def becomes_unhealthy(bridge: Bridge, timeout: float = 15.0) -> tuple[str, float]:
    """The verdict's line once it says unhealthy, and how long that took."""
    started = time.monotonic()
    path = bridge.config.health_file
    line = wait_for(lambda: (v := verdict(path, time.time(), 300))[0] is False and v[1], timeout, message="unhealthy")
    return line, time.monotonic() - started


def keeps_publishing(sub: Subscriber, serial: str, more: int = 3) -> int:
    before = states(sub, serial)
    wait_for(lambda: states(sub, serial) >= before + more, 20, message=f"{more} more states of {serial}")
    return states(sub, serial) - before


# --- 8: files are never written through a link, in a directory of the bridge's own -----------


def test_h11_8_symlinked_health_and_token_in_a_0777_cache_dir_are_replaced_never_followed(tmp_path, mosquitto):
    """The attack: anyone may write to the cache directory and points `health` and the token
    cache at files of root's; the bridge, run as root, writes to neither."""
    with Simulator(scenario=LIVING, start="12:00") as sim:
        config = write_config(tmp_path, sim, mosquitto, poll=QUICKEST)
        cache = tmp_path / "cache"
        cache.mkdir()
        os.chmod(cache, 0o777)
        victims = {name: tmp_path / f"victim-{name}" for name in ("health", "token.jwt")}
        for name, victim in victims.items():
            victim.write_text(f"root's {name}\n")
            os.chmod(victim, 0o644)
            (cache / name).symlink_to(victim)
        log = tmp_path / "bridge.log"
        sub = Subscriber(mosquitto.host, mosquitto.port)
        try:
            with open(log, "w") as out, running_bridge(config, stdout=out, stderr=subprocess.STDOUT):
                started = time.monotonic()
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=30)
                wait_for(lambda: not (cache / "health").is_symlink(), 15, message="the health document")
                code, lines = docker_health(cache)
                seconds = time.monotonic() - started
                keeps_publishing(sub, sim.serial, more=2)
                published = states(sub, sim.serial)
            assert_only_own_topics(sub, {sim.serial})
        finally:
            sub.close()
    for name, victim in victims.items():
        assert victim.read_text() == f"root's {name}\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644
        assert not (cache / name).is_symlink()
        assert stat.S_IMODE((cache / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert json.loads((cache / "health").read_text())["gateways"][0]["online"] is True
    assert code == 0 and len(lines) == 1 and lines[0].startswith("healthy: 1 of 1 gateway(s) online")
    text = log.read_text()
    assert text.count("was open to other users (mode 0777); changed it to 0700") == 1
    assert "Traceback" not in text
    print(
        f"\nh11_8 symlinks: victims untouched, cache dir 0777 -> 0700 (1 warning), "
        f"{published} states published, health healthy after {seconds:.1f} s"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory to another user")
def test_h11_8_a_cache_dir_owned_by_someone_else_is_refused_at_start_in_one_line(tmp_path, mosquitto):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, mosquitto)
        cache = tmp_path / "cache"
        cache.mkdir()
        os.chmod(cache, 0o777)
        os.chown(cache, OTHER_UID, -1)
        started = time.monotonic()
        result = bridge_cli("run", "-c", str(config), timeout=30)
        seconds = time.monotonic() - started
        requests = sum(sim.request_counts.values())
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configuration error:",
        f"  cache_dir: {cache}: is owned by uid {OTHER_UID}, not by this user (uid 0): chown it to this user",
    ]
    assert os.listdir(cache) == [] and stat.S_IMODE(cache.stat().st_mode) == 0o777
    assert requests == 0  # refused before any gateway or broker was contacted
    print(f"\nh11_8 foreign cache dir: exit 2 in {seconds:.1f} s, 0 requests, nothing written")


# --- health: dead threads and silence make `health` say so ---------------------------------------


def test_health_paho_thread_dead_is_unhealthy_in_one_line(tmp_path, mosquitto):
    with healthy_pair(tmp_path, mosquitto) as (bridge, _sub, sims):

        def boom(*args):
            raise RuntimeError("a callback that raises ends paho's network thread")

        bridge.publisher._client.on_publish = boom
        line, seconds = becomes_unhealthy(bridge)
        code, lines = docker_health(tmp_path)
        for sim in sims:  # the workers poll on; nothing can reach the broker any more
            wait_for(lambda sim=sim: sim.request_counts.get("/ivp/meters/readings", 0) > 5, 10, message="polls")
    assert line == "unhealthy: the MQTT network thread has died"
    assert (code, lines) == (1, ["unhealthy: the MQTT network thread has died"])
    print(f"\nhealth paho thread dead: unhealthy after {seconds:.1f} s, `health` exit {code}")


def test_health_a_dead_worker_is_unhealthy_and_the_other_gateway_keeps_publishing(tmp_path, mosquitto):
    with healthy_pair(tmp_path, mosquitto) as (bridge, sub, sims):
        dead = bridge.workers[0]

        def end_the_thread():
            raise SystemExit  # not an Exception: the worker's catch-all lets it through

        dead._step = end_the_thread
        line, seconds = becomes_unhealthy(bridge)
        more = keeps_publishing(sub, sims[1].serial)
        code, lines = docker_health(tmp_path)
    assert line == f"unhealthy: the worker thread of gateway {dead.gateway.label} has died"
    assert (code, lines) == (1, [line])
    print(f"\nhealth worker dead: unhealthy after {seconds:.1f} s; the other gateway published {more} more states")


def test_health_an_online_gateway_that_stops_publishing_is_unhealthy(tmp_path, mosquitto):
    with healthy_pair(tmp_path, mosquitto, max_silence=3.0) as (bridge, sub, sims):
        silent = bridge.workers[0]
        silent.deliver = lambda started: True  # polls on, online, but nothing reaches the sinks
        line, seconds = becomes_unhealthy(bridge)
        more = keeps_publishing(sub, sims[1].serial)
        code, lines = docker_health(tmp_path)
    assert line.startswith(f"unhealthy: nothing published for gateway {silent.gateway.label} in ")
    assert line.endswith(" s (limit 3 s)") and code == 1 and len(lines) == 1
    print(f"\nhealth silent gateway: unhealthy after {seconds:.1f} s (limit 3 s); the other published {more} more")


# --- 10: two gateways on one host ----------------------------------------------------------------


def two_on_one_host(tmp_path, sims, broker) -> Path:
    """config.yaml as a user writes it: both gateways on 127.0.0.1, told apart by the port only."""
    gateways = [
        {
            "host": f"https://{sim.envoy_host}",
            "username": sim.cloud_user,
            "password": sim.cloud_password,
            "tls": {"fingerprint": sim.fingerprint},
        }
        for sim in sims
    ]
    config = {
        "gateways": gateways,
        "cache_dir": str(tmp_path / "cache"),
        "mqtt": {"host": broker.host, "port": broker.port},
        "poll": QUICKEST,
        "cloud": {"enlighten_url": sims[0].cloud_url, "entrez_url": sims[0].cloud_url, "ca_file": sims[0].ca_file},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_until_both_publish(config_path: Path, broker, sims) -> list[str]:
    """One start of the bridge until both gateways published; the names of its worker threads."""
    config = load_config(config_path, {})
    sub = Subscriber(broker.host, broker.port)
    try:
        with bridge_running(config) as bridge:
            for sim in sims:
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=30)
            names = [thread.name for thread in bridge._threads]
        assert_only_own_topics(sub, {sim.serial for sim in sims})
    finally:
        sub.close()
    return names


def test_h11_10_two_gateways_on_one_host_keep_their_own_token_and_label(tmp_path, mosquitto, caplog):
    with two_simulators() as sims:
        config = two_on_one_host(tmp_path, sims, mosquitto)
        cache = tmp_path / "cache"
        cache.mkdir(mode=0o700)
        # Before the upgrade both shared token-127.0.0.1.jwt; it holds the first gateway's token.
        (cache / "token-127.0.0.1.jwt").write_text(sims[0].issue_token())
        os.chmod(cache / "token-127.0.0.1.jwt", 0o600)
        logins = [sims[0].cloud_counts.get("login", 0)]
        for _ in range(3):
            names = run_until_both_publish(config, mosquitto, sims)
            logins.append(sims[0].cloud_counts.get("login", 0))
    ports = [sim.envoy_host.rsplit(":", 1)[1] for sim in sims]
    assert names == [f"envoy-127.0.0.1:{port}" for port in ports]
    assert sorted(p.name for p in cache.glob("token-*.jwt")) == sorted(
        ["token-127.0.0.1.jwt", *(f"token-127.0.0.1_{port}.jwt" for port in ports)]
    )
    # Only the token fetched from the cloud has metadata (the flow that worked), beside its own cache.
    assert [p.name for p in cache.glob("token-*.meta.json")] == [f"token-127.0.0.1_{ports[1]}.jwt.meta.json"]
    # The upgrade: the first gateway's token is carried over, the second gets its own, once.
    assert logins == [0, 1, 1, 1]
    mismatch = warnings(caplog, "issued for gateway")
    assert len(mismatch) == 1 and mismatch[0].startswith(f"127.0.0.1:{ports[1]}: ")
    print(f"\nh11_10 two gateways on one host: cloud logins per start {[b - a for a, b in itertools.pairwise(logins)]}")


# --- 12 and 13: the configuration files ------------------------------------------------------------


def test_h11_12_config_and_secret_files_that_are_not_utf8_are_one_line_and_exit_2(tmp_path, mosquitto):
    with Simulator() as sim:
        config = write_config(tmp_path, sim, mosquitto)
        good = config.read_bytes()
        config.write_bytes(good.replace(b"base_topic: envoy", b"base_topic: \xe9nergie"))
        results = [bridge_cli(command, "-c", str(config)) for command in ("check-config", "run")]
        secret = tmp_path / "password"
        secret.write_bytes(b"\xff\xfepassword in UTF-16\x00")
        config.write_bytes(
            good.replace(f"password: {sim.cloud_password}".encode(), f"password_file: {secret}".encode())
        )
        results.append(bridge_cli("run", "-c", str(config)))
        requests = sum(sim.request_counts.values())
    offset = good.index(b"base_topic: envoy") + len("base_topic: ")
    for result in results[:2]:
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr.splitlines() == [
            "configuration error:",
            f"  {config}: not UTF-8 text (byte 0xe9 at offset {offset})",
        ]
    assert results[2].returncode == 2
    assert results[2].stderr.splitlines() == [
        "configuration error:",
        f"  gateways[0].password_file: {secret}: not UTF-8 text (byte 0xff at offset 0)",
    ]
    assert requests == 0
    print("\nh11_12 non-UTF-8 config and secret: exit 2 with one problem line each, no traceback, 0 requests")


def alias_bomb() -> bytes:
    """321 bytes that expand to 9 ** 8 (43 million) strings wherever log_level is read: before,
    check-config took 6.5 s and 640 MB on it (each level more: 9 times that)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for below, name in itertools.pairwise("abcdefgh"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 9) + "]")
    lines.append("log_level: *h")
    return ("\n".join(lines) + "\n").encode()


# `check-config` as the command line runs it, reporting its own peak memory at exit: VmHWM, the
# high-water mark of this process's memory (wait4's ru_maxrss would count the forked test too).
MEASURED_CHECK_CONFIG = """
import atexit, re, sys
from pathlib import Path
from bridge.cli import main

def peak():
    status = Path("/proc/self/status").read_text()
    Path(sys.argv[1]).write_text(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))

atexit.register(peak)
sys.exit(main(["check-config", "-c", sys.argv[2]]))
"""


def measured_check_config(path: Path, timeout: float = 60.0) -> tuple[int, list[str], float, float]:
    """`check-config -c path`: exit code, stderr lines, seconds, and peak memory in MB."""
    peak = path.parent / "peak-kb"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_CHECK_CONFIG, str(peak), str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - started
    return result.returncode, result.stderr.splitlines(), seconds, int(peak.read_text()) / 1024


def test_h11_13_an_alias_bomb_is_refused_at_once_in_a_few_mb(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(alias_bomb())
    code, lines, seconds, peak_mb = measured_check_config(path)
    assert code == 2
    assert lines == [
        "configuration error:",
        f"  {path}: line 5 invalid YAML (more than 20000 values, counting what each alias repeats)",
    ]
    assert seconds < 10 and peak_mb < 60  # a valid configuration: about 30 MB
    print(f"\nh11_13 alias bomb of {path.stat().st_size} bytes: exit 2 in {seconds:.2f} s, peak RSS {peak_mb:.0f} MB")
