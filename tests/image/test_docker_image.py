"""The Docker image as a user runs it: built from the repository's Dockerfile (on a stand-in for
python:3.11-slim, see tests/support/docker.py), started with config.yaml and a token cache in a
mounted /data, against the simulator and a real Mosquitto on the host network. Its own
HEALTHCHECK command is what turns the container healthy or unhealthy; `docker run` only makes it
run every 2 s instead of every minute."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import yaml

from bridge.simulator import Simulator
from tests.support.docker import base_image, build_image, docker, health, inspect, process_uid, running, wheelhouse
from tests.support.mqtt import Mosquitto, Subscriber, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UID = 10001  # the Dockerfile's `bridge` user
INSTANCE = "image-test"
BRIDGE_AVAILABILITY = f"envoy/bridge/{INSTANCE}/availability"
MAX_SILENCE_S = 20  # > the 5 s between health documents + the 5 s meters poll, with room: no false alarm
HEALTH_OPTIONS = ("--health-interval", "2s", "--health-timeout", "10s", "--health-retries", "1")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> float:
    """The image built; the seconds the build took."""
    base = base_image()
    return build_image(base, wheelhouse(tmp_path_factory.mktemp("wheels")))


def data_folder(root: Path, sim: Simulator, broker: Mosquitto) -> Path:
    """/data as a user prepares it: config.yaml, and the token the gateway's owner imported,
    everything owned by the image's user."""
    data = root / "data"
    data.mkdir(mode=0o700)
    host, port = sim.envoy_host.rsplit(":", 1)
    config = {
        "gateways": [{"host": f"https://{host}:{port}", "serial": sim.serial, "tls": {"fingerprint": sim.fingerprint}}],
        "mqtt": {"host": broker.host, "port": broker.port, "instance_id": INSTANCE},
        "poll": {"meters": 5},
        "health": {"max_silence": MAX_SILENCE_S},
    }
    (data / "config.yaml").write_text(yaml.safe_dump(config))
    token = data / f"token-{sim.serial}.jwt"
    token.write_text(sim.issue_token() + "\n")
    token.chmod(0o600)
    for path in (data, *data.iterdir()):
        os.chown(path, UID, UID)
    return data


def owner_and_mode(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_uid, stat.S_IMODE(info.st_mode)


def wait_health(container: str, status: str, timeout: float) -> str:
    """Wait for the health status; the output of the health check that gave it."""
    wait_for(lambda: health(container)[0] == status, timeout, interval=0.5, message=f"health {status}")
    return health(container)[1]


def test_the_image_publishes_as_uid_10001_turns_healthy_and_says_offline_on_docker_stop(image, tmp_path, mosquitto):
    print(f"\nimage build: {image:.1f} s")
    with Simulator() as sim:
        data = data_folder(tmp_path, sim, mosquitto)
        token = (data / f"token-{sim.serial}.jwt").read_text()
        sub = Subscriber(mosquitto.host, mosquitto.port)
        name = f"envoy-bridge-test-{mosquitto.port}"
        try:
            with running(name, data, tmp_path / "container.log", *HEALTH_OPTIONS) as container:
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=60)
                assert sub.get(BRIDGE_AVAILABILITY) == b"online"
                assert process_uid(container) == UID
                assert wait_health(container, "healthy", 60).startswith("healthy: 1 of 1 gateway(s) online")
                assert sim.cloud_counts.get("tokens_issued", 0) == 0  # the imported token served
                assert (data / f"token-{sim.serial}.jwt").read_text() == token
                assert owner_and_mode(data / f"token-{sim.serial}.jwt") == (UID, 0o600)
                assert owner_and_mode(data / "health") == (UID, 0o600)  # written in the container

                sim.hang_next(seconds=120, count=1_000_000)  # connections open, never an answer
                output = wait_health(container, "unhealthy", MAX_SILENCE_S + 30)
                assert f"nothing published for gateway {sim.serial}" in output

                sim.stop_envoy()  # gone: offline is the gateway's fault, not the bridge's
                sub.wait_topic(f"envoy/{sim.serial}/availability", timeout=60, payload=b"offline")
                assert wait_health(container, "healthy", 30).startswith("healthy: 0 of 1 gateway(s) online")

                started = time.monotonic()
                docker("stop", "-t", "10", container, timeout=30)
                stopped_in = time.monotonic() - started
                assert inspect(container)["State"]["ExitCode"] == 0
                print(f"docker stop: {stopped_in:.1f} s")
                assert stopped_in < 8, f"docker stop took {stopped_in:.1f} s"
                sub.wait_topic(BRIDGE_AVAILABILITY, payload=b"offline")
        finally:
            sub.close()
    assert "Traceback" not in (tmp_path / "container.log").read_text()
