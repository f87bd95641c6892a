"""A gateway for the controls' unit tests: the documents of an IQ Battery site with an IQ System
Controller, a generator and an AC Battery (written for these tests), which takes the writes
of reference §1 and changes its documents as the real gateway does. The worker, the model,
the sinks and the controls around it are the real ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from bridge.app import sinks_for
from bridge.auth.tokens import TokenInfo
from bridge.config import Config, ControlsConfig, GatewayConfig, PollIntervals
from bridge.controls.executor import GatewayControls
from bridge.errors import EnvoyHTTPError, EnvoyNotFound
from bridge.gateway.worker import EnvoyWorker
from bridge.model import GatewayInfo
from bridge.sinks import FanOut
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

SERIAL = "999000000014"
ACB = "121900000001"
POWER = "/ivp/mod/603980032/mode/power"
ALL_ON = ControlsConfig(battery=True, relays=True, grid=True, generator=True, production=True)


def documents() -> dict[str, Any]:
    unit = {"part_num": "830-01760-r46", "img_pnum_running": "2.6.5973_rel/22.11", "communicating": True}
    return {
        "/ivp/ensemble/inventory": [
            {"type": "ENCHARGE", "devices": [{**unit, "serial_num": "482200000001", "percentFull": 60}]},
            {
                "type": "ENPOWER",
                "devices": [
                    {**unit, "serial_num": "482200000099", "mains_admin_state": "closed", "mains_oper_state": "closed"}
                ],
            },
        ],
        "/ivp/ensemble/relay": {"mains_admin_state": "closed", "mains_oper_state": "closed"},
        "/admin/lib/tariff": {
            "tariff": {
                "currency": {"code": "EUR"},
                "single_rate": {"rate": 0.31, "sell": 0.08},
                "seasons": [{"id": "all_year", "start": "1/1", "days": [], "tiers": []}],
                "storage_settings": {
                    "mode": "self-consumption",
                    "operation_mode_sub_type": "",
                    "reserved_soc": 20.0,
                    "very_low_soc": 5,
                    "charge_from_grid": False,
                    "date": "1767222000",
                    "opt_schedules": True,
                },
            },
            "schedule": {"source": "Tariff"},
        },
        "/ivp/ensemble/dry_contacts": {"dry_contacts": [{"id": "NC1", "status": "open"}]},
        "/ivp/ss/dry_contact_settings": {
            "dry_contacts": [
                {
                    "id": "NC1",
                    "type": "LOAD",
                    "load_name": "Heat pump",
                    "mode": "manual",
                    "grid_action": "apply",
                    "micro_grid_action": "shed",
                    "gen_action": "shed",
                    "override": "true",
                    "manual_override": "true",
                    "soc_low": 30.0,
                    "soc_high": 70.0,
                    "priority": 1.0,
                    "pv_serial_nb": [],
                }
            ]
        },
        "/ivp/ss/gen_config": {"gen_type": "Standby", "manufacturer": "Generac", "charge_from_generator": True},
        "/ivp/ensemble/generator": {"admin_state": "open", "oper_state": "open", "present": 1},
        "/ivp/ss/gen_mode": {"gen_cmd": "auto", "last_updated_by": "ITK"},
        "/inventory.json?deleted=1": [
            {
                "type": "ACB",
                "devices": [
                    {
                        **unit,
                        "serial_num": ACB,
                        "admin_state": 1,
                        "sleep_enabled": False,
                        "device_status": ["envoy.global.ok"],
                    }
                ],
            }
        ],
        POWER: {"powerForcedOff": False},
        "/admin/lib/acb_config": {"acb_sleep": []},
    }


class FakeGateway:
    """The client the worker and the controls use: reads and writes of one fake gateway."""

    def __init__(self, user_type: str = "owner") -> None:
        self.docs = documents()
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self.reads: list[str] = []
        self.token_info = TokenInfo(SERIAL, user_type, "me@example.com", 1.7e9, 1.9e9)
        self.token_source = self.token_flow = self.last_renewal_error = None
        self.refuse_writes: int | None = None  # an HTTP status every write gets
        self.contact_lag = 0  # reads of the dry contacts that still show the old status

    def fetch_info(self) -> GatewayInfo:
        return GatewayInfo(SERIAL, "8.2.4382", "800-00654-r08", True, True)

    def get(self, endpoint: str, probing: bool = False) -> bytes:
        self.reads.append(endpoint)
        if endpoint not in self.docs:
            raise EnvoyNotFound(f"{endpoint}: 404")
        body = self.docs[endpoint]
        if endpoint == "/ivp/ensemble/dry_contacts" and self.contact_lag > 0:
            self.contact_lag -= 1
            body = self._before_last_write(endpoint)
        return json.dumps(body).encode()

    def maybe_renew_token(self, block: bool = False) -> bool:
        return False

    def write_json(self, method: str, endpoint: str, document: dict[str, Any]) -> bytes:
        if self.refuse_writes is not None:
            raise EnvoyHTTPError(self.refuse_writes, f"{endpoint}: HTTP {self.refuse_writes}")
        if endpoint == POWER and self.token_info.user_type != "installer":
            raise EnvoyHTTPError(401, f"{endpoint}: refused for this token")
        self._kept = copy.deepcopy(self.docs)
        self.writes.append((method, endpoint, copy.deepcopy(document)))
        self._apply(method, endpoint, document)
        return b"{}"

    def _before_last_write(self, endpoint: str) -> Any:
        return self._kept[endpoint]

    def _apply(self, method: str, endpoint: str, body: dict[str, Any]) -> None:
        docs = self.docs
        if endpoint == "/admin/lib/tariff":
            docs[endpoint]["tariff"] = body["tariff"]
        elif endpoint == "/ivp/ensemble/relay":
            docs[endpoint]["mains_admin_state"] = body["mains_admin_state"]
            docs["/ivp/ensemble/inventory"][1]["devices"][0]["mains_admin_state"] = body["mains_admin_state"]
        elif endpoint == "/ivp/ensemble/dry_contacts":
            contact = body["dry_contacts"]
            docs[endpoint]["dry_contacts"] = [
                {**c, "status": contact["status"]} if c["id"] == contact["id"] else c
                for c in docs[endpoint]["dry_contacts"]
            ]
        elif endpoint == "/ivp/ss/dry_contact_settings":
            relay = body["dry_contacts"]
            docs[endpoint]["dry_contacts"] = [
                relay if r["id"] == relay["id"] else r for r in docs[endpoint]["dry_contacts"]
            ]
        elif endpoint == "/admin/lib/acb_config":  # the inventory follows 10-15 min later (§1.4)
            docs[endpoint]["acb_sleep"] = body["acb_sleep"] if method == "PUT" else []
        elif endpoint == "/ivp/ss/gen_mode":
            docs[endpoint]["gen_cmd"] = body["gen_cmd"]
        elif endpoint == POWER:
            docs[endpoint]["powerForcedOff"] = body["arr"] == [1]


def make_controls(
    config: ControlsConfig = ALL_ON, user_type: str = "owner"
) -> tuple[GatewayControls, FakeGateway, Recorder, FakeClock, list[tuple[str, str, dict[str, Any]]]]:
    """The controls of a set-up worker on the fake gateway: (controls, gateway, the published
    messages, the clock, the results as (serial, path, result))."""
    clock = FakeClock(1000.0)
    gateway = FakeGateway(user_type)
    bridge_config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=PollIntervals(), controls=config)
    recorder = Recorder()
    sinks = FanOut(sinks_for(bridge_config, bridge_config.gateways[0], recorder).sinks)
    worker = EnvoyWorker(
        bridge_config.gateways[0], bridge_config, sinks, client=gateway, monotonic=clock.monotonic, wall=clock
    )  # type: ignore[arg-type]
    results: list[tuple[str, str, dict[str, Any]]] = []
    controls = GatewayControls(
        worker,
        config,
        lambda *result: results.append(result),
        lambda serial, path, document: recorder.publish_state(f"envoy/{serial}/{path}", json.dumps(document)),
        monotonic=clock.monotonic,
    )
    sinks.add(controls)
    worker._step()  # set up and deliver the first cycle
    return controls, gateway, recorder, clock, results


def run_jobs(controls: GatewayControls, clock: FakeClock, seconds: float = 0.0, step: float = 1.0) -> None:
    """Run the worker's due jobs now, then while `seconds` pass, as its thread would."""
    controls.worker.jobs.run_due()
    elapsed = 0.0
    while elapsed < seconds:
        clock.advance(step)
        elapsed += step
        controls.worker.jobs.run_due()
