"""Child processes of the tests: the bridge as a user starts it (with the configuration file a
user writes), logged children, stopping them.

A test that runs the command line (`python -m bridge ...`) in its own process runs it from the
repository, as a user would. Every child (the bridge, Mosquitto, Home Assistant, Node-RED) is
stopped the same way: SIGTERM (the bridge says `offline` and flushes), then SIGKILL when it does
not exit within the timeout, so no test leaves a process behind.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from bridge.app import Bridge
    from bridge.simulator import Simulator

REPO = Path(__file__).resolve().parents[2]


def bridge_command(*args: str) -> list[str]:
    """The command a user types: `python -m bridge ARGS` (run it with cwd=REPO)."""
    return [sys.executable, "-m", "bridge", *args]


def bridge_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`python -m bridge ARGS` run to its end, its output captured as text."""
    return subprocess.run(bridge_command(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)


def start_logged(command: list[str], log: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """Start `command` with its stdout and stderr written to the file `log`."""
    with open(log, "w") as out:  # the child has its own copy of the file; ours can close
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15.0) -> int:
    """SIGTERM, and SIGKILL if it is still there after `timeout` seconds; its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


@contextmanager
def running_bridge(config: Path, timeout: float = 10.0, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """`python -m bridge run -c CONFIG` in its own process (Popen options in `popen`), stopped on exit."""
    proc = subprocess.Popen(bridge_command("run", "-c", str(config)), cwd=REPO, **popen)
    try:
        yield proc
    finally:
        stop_process(proc, timeout)


@contextmanager
def in_process(bridge: Bridge) -> Iterator[Bridge]:
    """`bridge` started in this process, its main loop in a thread; stopped (flushed) on exit."""
    bridge.start()
    ticker = threading.Thread(target=bridge.run_forever, daemon=True)
    ticker.start()
    try:
        yield bridge
    finally:
        bridge.stop(flush_s=2)
        ticker.join(5)


def write_config(
    tmp_path: Path,
    sim: Simulator,
    broker: Any,
    *,
    base: str = "envoy",
    log_level: str = "INFO",
    poll: Any = None,
    controls: dict[str, Any] | None = None,
    token_flows: list[str] | None = None,
    instance_id: str | None = None,
    **gateway: Any,
) -> Path:
    """config.yaml in `tmp_path` as a user writes it for `sim`'s gateway (more gateway settings in
    `gateway`), publishing to `broker` (anything with .host and .port) under `base`; `controls`,
    `token_flows` and `instance_id` as the `controls:` section, `cloud.token_flows` and
    `mqtt.instance_id`."""
    host, port = sim.envoy_host.rsplit(":", 1)
    gw = {
        "host": f"https://{host}:{port}",
        "username": sim.cloud_user,
        "password": sim.cloud_password,
        "tls": {"fingerprint": sim.fingerprint},
        "token_cache": str(tmp_path / "cache" / "token.jwt"),
        **gateway,
    }
    config: dict[str, Any] = {
        "gateways": [gw],
        "log_level": log_level,
        "cache_dir": str(tmp_path / "cache"),
        "mqtt": {"host": broker.host, "port": broker.port, "base_topic": base},
        "cloud": {"enlighten_url": sim.cloud_url, "entrez_url": sim.cloud_url, "ca_file": sim.ca_file},
    }
    if poll:
        config["poll"] = poll
    if controls:
        config["controls"] = controls
    if token_flows:
        config["cloud"]["token_flows"] = token_flows
    if instance_id:
        config["mqtt"]["instance_id"] = instance_id
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
