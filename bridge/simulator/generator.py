"""The standby generator's documents (reference §1.5), for a scenario with `generator: true`:
/ivp/ss/gen_config (what it is; `{}` would mean none) and /ivp/ensemble/generator (its relay),
the relay following the mode set by POST /ivp/ss/gen_mode. The generator feeds no power here.
"""

from __future__ import annotations

from typing import Any

# The shape of pyenphase's 8.3.5169_with_generator fixture (reference §1.5); the values are ours.
CONFIG: dict[str, Any] = {
    "max_cont_gen_amps": 60.0,
    "min_gen_loading_perc": 5,
    "max_gen_efficiency_perc": 100,
    "name_plate_rating_wat": 14.0,  # kW, despite the name
    "start_method": "auto",
    "warm_up_mins": 5,
    "cool_down_mins": 5,
    "gen_type": "Standby",
    "model": "Guardian 14kW",
    "manufacturer": "Generac",
    "last_updated_by": "ITK",
    "generator_id": "GEN-0001",
    "charge_from_generator": True,
}
ADMIN_MODES = {"off": 0, "on": 1, "auto": 2}  # inferred: the reference documents no mapping
START_SOC, STOP_SOC = 30, 70


def config() -> dict[str, Any]:
    return dict(CONFIG)


def status(gen_cmd: str, on_grid: bool) -> dict[str, Any]:
    """The generator's relay: closed (running) when commanded on, or on `auto` while islanded."""
    running = gen_cmd == "on" or (gen_cmd == "auto" and not on_grid)
    relay = "close" if running else "open"  # "close", as the gateway spells it
    return {
        "admin_state": relay,
        "oper_state": relay,
        "admin_mode": ADMIN_MODES.get(gen_cmd, 2),
        "schedule": 1,
        "start_soc": START_SOC,
        "stop_soc": STOP_SOC,
        "exc_on": 0,
        "present": 1,
        "type": 1,
    }
