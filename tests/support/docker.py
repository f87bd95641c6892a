"""The project's Docker image for the tests, built as a user builds it but without a registry:
the engine and a stand-in for python:3.11-slim come from scripts/install-docker (Debian's
docker.io, a debootstrapped bookworm with Python 3.11, cached), and pip installs the project's
dependencies from a wheelhouse built here and served on loopback (`--no-index`), through the
Dockerfile's BASE and PIP_OPTIONS build arguments.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import REPO

IMAGE = "envoy-mqtt-bridge:image-test"
# DOCKER_BUILDKIT=0: the classic builder, which Debian's engine has without the buildx plugin.
DOCKER_ENV = {**os.environ, "DOCKER_BUILDKIT": "0"}


def docker(*args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` run to its end, its output captured as text."""
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, env=DOCKER_ENV, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc


def base_image() -> str:
    """The stand-in base image (scripts/install-docker); the test is skipped, saying why, when
    the engine cannot be installed or started here."""
    try:
        proc = subprocess.run(
            [str(REPO / "scripts" / "install-docker")], capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"no Docker engine: scripts/install-docker: {err}")
    if proc.returncode != 0:
        pytest.skip(f"no Docker engine: scripts/install-docker: {proc.stderr.strip()[-400:]}")
    return proc.stdout.strip().splitlines()[-1]


def wheelhouse(directory: Path) -> Path:
    """The project and its dependencies as wheels, at the versions of constraints.txt, with
    setuptools (the build backend pip needs to build the project inside the image)."""
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
    command += ["-c", str(REPO / "constraints.txt"), "-w", str(directory), str(REPO), "setuptools>=68"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"pip wheel failed: {proc.stderr.strip()[-800:]}"
    return directory


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """`directory` over HTTP on loopback (pip's --find-links reads its listing); the URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class names it)
        """pip's requests are not worth a line each on the test's output."""


def build_image(base: str, wheels: Path) -> float:
    """`docker build` of the repository's Dockerfile on `base`, pip reading only `wheels`
    (host network: the wheelhouse is on loopback); the seconds it took."""
    started = time.monotonic()
    docker("rmi", "-f", IMAGE, check=False)  # the last run's image goes, not left dangling
    with served(wheels) as url:
        docker(
            "build",
            "--network",
            "host",
            "--build-arg",
            f"BASE={base}",
            "--build-arg",
            f"PIP_OPTIONS=--no-index --find-links {url}",
            "-t",
            IMAGE,
            str(REPO),
            timeout=600,
        )
    return time.monotonic() - started


def inspect(container: str) -> dict[str, Any]:
    """`docker inspect` of one container, as a dictionary."""
    document: list[dict[str, Any]] = json.loads(docker("inspect", container).stdout)
    return document[0]


def health(container: str) -> tuple[str, str]:
    """The container's health status and the output of its last health check."""
    state = inspect(container)["State"]
    checks = state.get("Health") or {}
    log = checks.get("Log") or [{}]
    return checks.get("Status", "none"), str(log[-1].get("Output", "")).strip()


def process_uid(container: str) -> int:
    """The real uid of the container's main process, read from /proc on the host."""
    pid = inspect(container)["State"]["Pid"]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


@contextmanager
def running(name: str, data: Path, log: Path, *options: str) -> Iterator[str]:
    """The image as `docker run -d` on the host network with `data` at /data (`options` before
    the image name); its log saved to `log` and the container removed on exit."""
    docker("rm", "-f", name, check=False)
    docker("run", "-d", "--name", name, "--network", "host", "-v", f"{data}:/data", *options, IMAGE)
    try:
        yield name
    finally:
        logs = docker("logs", name, check=False)
        log.write_text(logs.stdout + logs.stderr)
        docker("rm", "-f", name, check=False)
