"""The fake cloud's events, part of the Director's: cloud_down / cloud_up for every path,
cloud_fail / cloud_heal for one flow (names in cloud.py and cloudreplies.py).

    sim.trigger("cloud_fail", flow="entrez_json", failure="gone")
    sim.schedule("cloud_fail:flow=enlighten_get:failure=sign_in@+30s,cloud_heal@+2m")
"""

from __future__ import annotations

from typing import Protocol

from bridge.simulator.cloudreplies import check_failure, check_flow


class CloudGateway(Protocol):
    """What these events act on: the Simulator's cloud side."""

    cloud_mode: str

    def cloud_fail(self, flow: str, failure: str) -> None: ...

    def cloud_heal(self, flow: str | None = None) -> None: ...


class CloudEvents:
    """`do_<event>` runs an event; `check_<event>` vets its values before it is scheduled."""

    sim: CloudGateway

    def do_cloud_down(self) -> None:
        self.sim.cloud_mode = "down"

    def do_cloud_up(self) -> None:
        self.sim.cloud_mode = "ok"

    def do_cloud_fail(self, flow: str, failure: str) -> None:
        self.sim.cloud_fail(str(flow), str(failure))

    def check_cloud_fail(self, flow: object = None, failure: object = None) -> None:
        if flow is None or failure is None:
            raise ValueError("event cloud_fail needs flow=FLOW:failure=FAILURE")
        check_failure(str(flow), str(failure))

    def do_cloud_heal(self, flow: str | None = None) -> None:
        self.sim.cloud_heal(None if flow is None else str(flow))

    def check_cloud_heal(self, flow: object = None) -> None:
        if flow is not None:
            check_flow(str(flow))
