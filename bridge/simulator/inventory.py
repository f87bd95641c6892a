"""/inventory.json: every device the gateway knows, by type (reference §1.4), served where the
scenario has AC Batteries: their sleep settings show here, as the bridge reads them.

The microinverters (PCU) and the AC Batteries (ACB) in the shape of firmware 8.3.5169's, the
empty NSRB and ESUB groups after them. An AC Battery's `sleep_enabled` and its SoC band follow
the controls (PUT / DELETE /admin/lib/acb_config) at once: the real inventory lags 10-15 min
behind, which the bridge does not rely on (it reads the sleep back from acb_config).
"""

from __future__ import annotations

from typing import Any

from bridge.simulator.bodies import inverter_serial
from bridge.simulator.controls import acb_serials
from bridge.simulator.ensemble import INSTALLED
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot

AWAKE_BAND = (95, 100)  # what an AC Battery that was never sent to sleep shows (Home Assistant's default)
REPORT_AGE_S = 17
PCU_IMAGE, ACB_IMAGE = "520-00082-r01-v04.30.32", "520-00092-r01-v02.13.02"


def devices(s: Scenario, snap: Snapshot, sleeping: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """The /inventory.json body; `sleeping`: serial -> (sleep_min_soc, sleep_max_soc)."""
    pcus = [_device(inverter_serial(s, i), "800-00630-r02", PCU_IMAGE, 1, snap) for i in range(s.pv.inverters)]
    return [
        {"type": "PCU", "devices": [{**pcu, "producing": snap.power.production > 0} for pcu in pcus]},
        {"type": "ACB", "devices": [_acb(s, serial, snap, sleeping) for serial in acb_serials(s)]},
        {"type": "NSRB", "devices": []},
        {"type": "ESUB", "devices": []},
    ]


def _device(serial: str, part: str, image: str, dev_type: int, snap: Snapshot) -> dict[str, Any]:
    return {
        "part_num": part,
        "img_pnum_running": image,
        "installed": str(INSTALLED),
        "serial_num": serial,
        "device_status": ["envoy.global.ok"],
        "last_rpt_date": str(int(snap.t) - REPORT_AGE_S),
        "admin_state": 1,
        "dev_type": dev_type,
        "created_date": str(INSTALLED),
        "img_load_date": str(INSTALLED),
        "communicating": True,
        "provisioned": True,
        "operating": True,
    }


def _acb(s: Scenario, serial: str, snap: Snapshot, sleeping: dict[str, tuple[int, int]]) -> dict[str, Any]:
    battery = s.acb
    part = battery.part_num if battery is not None else ""
    low, high = sleeping.get(serial, AWAKE_BAND)
    watts = snap.power.battery  # positive: discharging
    return {
        **_device(serial, part, ACB_IMAGE, 11, snap),
        "producing": watts > 0,
        "sleep_enabled": serial in sleeping,
        "percentFull": round(snap.soc or 0),
        "maxCellTemp": 25,
        "sleep_min_soc": low,
        "sleep_max_soc": high,
        "charge_status": "discharging" if watts > 1 else "charging" if watts < -1 else "idle",
    }
