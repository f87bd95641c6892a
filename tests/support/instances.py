"""Several bridge instances on one broker (docs/fleet.md): `run` processes, each with its own
instance id (`mqtt.instance_id`) and its own simulated gateway, started as a user starts them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.simulator import Simulator
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 5, "grid": 1}


@dataclass
class Instance:
    """One bridge process, its instance id and the simulated gateway it serves."""

    name: str
    sim: Simulator
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def availability(self) -> str:
        return f"envoy/bridge/{self.name}/availability"

    @property
    def gateway_availability(self) -> str:
        return f"envoy/{self.sim.serial}/availability"

    def start(self) -> Instance:
        self.proc = start_logged(bridge_command("run", "-c", str(self.config)), self.log, cwd=REPO)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def two_instances(
    tmp_path: Path, broker: Any, scenarios=("standard", "metered")
) -> Iterator[tuple[Instance, Instance]]:
    """Instances `site-a` and `site-b`, each serving its own simulated gateway, both running."""
    with ExitStack() as stack:
        instances = []
        for name, scenario in zip(("site-a", "site-b"), scenarios, strict=True):
            sim = stack.enter_context(Simulator(scenario=scenario, time_factor=1, start="11:00"))
            folder = tmp_path / name
            folder.mkdir()
            config = write_config(folder, sim, broker, poll=POLL, instance_id=name)
            instance = Instance(name, sim, config, folder / "bridge.log").start()
            stack.callback(lambda i=instance: i.proc and stop_process(i.proc))
            instances.append(instance)
        yield instances[0], instances[1]
