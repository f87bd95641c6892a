"""The computed energy counters of one gateway and their state file (bridge/gateway/energy.py):
samples in, the state section out, 0600 file, restarts without loss or double counting, gaps,
and every kind of unusable file."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from bridge.config import EnergyConfig, GatewayConfig, PollIntervals
from bridge.gateway.energy import ComputedEnergy, ct_types_of, effective_max_gap_s
from bridge.model import ENDPOINTS, decode_json

SERIAL = "123456789012"
T0 = 1_800_000_000.0


BATTERY_SITE = frozenset({"production"})  # IQ Batteries, no storage CT


class Run:
    """One bridge run's counters, fed a battery power every `step` seconds from T0 + `start`."""

    def __init__(self, path, max_gap_s=300.0, save_interval_s=60.0, serial=SERIAL):
        gateway = GatewayConfig(host="gw", insecure=True, energy_state=path)
        self.energy = ComputedEnergy(gateway, EnergyConfig(max_gap_s=max_gap_s, save_interval_s=save_interval_s))
        self.serial = serial

    def cycle(self, at: float, power_w: object, ct_types=BATTERY_SITE) -> dict:
        payload = {"schema": 1, "battery": {"soc_pct": 50, "power_w": power_w}}
        self.energy.add_to(payload, self.serial, ct_types, None, T0 + at, at)
        return payload

    def run(self, start: int, end: int, power_w=-3600, step=10) -> dict:
        payload = {}
        for at in range(start, end + 1, step):
            payload = self.cycle(at, power_w)
        return payload


def test_battery_power_becomes_charged_and_discharged_watt_hours_in_the_state(tmp_path):
    run = Run(tmp_path / "energy.json")
    assert "computed_energy" not in run.cycle(0, None)  # no sample yet: nothing known, no 0 either
    run.run(0, 3600, power_w=-1800)  # charging at 1.8 kW for an hour
    payload = run.run(3610, 3610 + 1800, power_w=1200)  # then discharging at 1.2 kW
    # The 10 s between cross zero after 6 s: 1800 W / 2 x 6 s = 1.5 Wh charged, 1200 / 2 x 4 s = 0.67 Wh out.
    assert payload["computed_energy"] == {"battery_discharged_wh": 601, "battery_charged_wh": 1802, "gaps": 0}
    assert run.energy.gaps == 0


def test_no_channel_no_section_and_no_file(tmp_path):
    run = Run(tmp_path / "energy.json")
    for at in range(0, 600, 10):
        assert "computed_energy" not in run.cycle(at, -500, ct_types=frozenset({"production", "storage"}))
    assert run.energy.gaps is None
    assert not (tmp_path / "energy.json").exists()


def test_the_state_file_is_0600_and_written_at_most_every_save_interval(tmp_path):
    path = tmp_path / "energy.json"
    run = Run(path, save_interval_s=60)
    run.cycle(0, -1000)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_bytes()
    run.run(10, 50, power_w=-1000)
    assert path.read_bytes() == first  # less than 60 s since the last write
    run.cycle(60, -1000)
    saved = json.loads(path.read_bytes())
    assert saved["serial"] == SERIAL and saved["format"] == 1
    assert saved["channels"]["battery"]["negative_wh"] == pytest.approx(1000 * 60 / 3600)
    assert saved["channels"]["battery"]["last_time"] == T0 + 60


def test_a_restart_neither_loses_nor_double_counts(tmp_path):
    """Uninterrupted for two hours against: one hour, a clean stop, 2 minutes away, then the rest."""
    steady = Run(tmp_path / "steady.json").run(0, 7200)["computed_energy"]
    path = tmp_path / "energy.json"
    first = Run(path)
    first.run(0, 3600)
    first.energy.save(3600)  # the worker's clean stop
    second = Run(path)
    payload = second.run(3720, 7200)  # the first sample integrates from the saved one, 120 s before
    assert payload["computed_energy"] == steady
    assert steady["battery_charged_wh"] == 7200


def test_a_crash_between_two_saves_costs_no_energy(tmp_path):
    steady = Run(tmp_path / "steady.json").run(0, 7200)["computed_energy"]
    path = tmp_path / "energy.json"
    Run(path, save_interval_s=60).run(0, 3650)  # last save at 3600, then killed: 50 s never saved
    payload = Run(path).run(3700, 7200)  # 3600 -> 3700 is one 100 s step of the same power
    assert payload["computed_energy"] == steady


def test_a_restart_after_a_long_stop_counts_a_gap_and_logs_it_once(tmp_path, caplog):
    path = tmp_path / "energy.json"
    first = Run(path)
    first.run(0, 3600)
    first.energy.save(3600)
    caplog.set_level(logging.WARNING)
    second = Run(path, max_gap_s=300)
    payload = second.run(3600 + 301, 3600 + 901)
    assert payload["computed_energy"] == {"battery_discharged_wh": 0, "battery_charged_wh": 3600 + 600, "gaps": 1}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "no sample for more than 300 s (battery)" in lines[0]
    assert "nothing counted" in lines[0]


def test_a_gap_while_running_is_skipped_counted_and_logged_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    run = Run(tmp_path / "energy.json")
    run.run(0, 600)
    payload = run.run(1600, 2200)  # the gateway was away for 1000 s
    assert payload["computed_energy"]["battery_charged_wh"] == 1200
    assert payload["computed_energy"]["gaps"] == 1 and run.energy.gaps == 1
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x00\xff not json", "is unreadable"),
        (b'{"format": 1, "serial": "123456789012", "channels": {"battery": {}}', "is unreadable"),
        (b"[1, 2, 3]", "is not a computed-energy state file"),
        (b'{"format": 99, "serial": "123456789012", "channels": {}}', "is not a computed-energy state file"),
        (b'{"format": 1, "serial": "999999999999", "channels": {}}', "belongs to gateway '999999999999'"),
    ],
)
def test_an_unusable_file_starts_from_zero_with_one_warning_and_is_replaced(tmp_path, caplog, content, why):
    path = tmp_path / "energy.json"
    path.write_bytes(content)
    caplog.set_level(logging.WARNING)
    run = Run(path)
    payload = run.run(0, 360)
    assert payload["computed_energy"]["battery_charged_wh"] == 360
    [line] = [r.getMessage() for r in caplog.records]
    assert why in line and "start again from 0" in line and "meter reset" in line
    assert json.loads(path.read_bytes())["serial"] == SERIAL


def test_a_partly_readable_file_keeps_what_it_can(tmp_path, caplog):
    path = tmp_path / "energy.json"
    channels = {
        "battery": {"positive_wh": 500.0, "negative_wh": 700.0, "last_time": T0 - 10, "last_power_w": -3600},
        "grid": {"positive_wh": "lots", "negative_wh": 1.0},
        "solar": {"positive_wh": 1.0, "negative_wh": 1.0},
    }
    path.write_text(json.dumps({"format": 1, "serial": SERIAL, "channels": channels}))
    caplog.set_level(logging.WARNING)
    payload = Run(path).run(0, 0)
    assert payload["computed_energy"] == {"battery_discharged_wh": 500, "battery_charged_wh": 710, "gaps": 0}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "channel 'grid'" in lines[0] and "start again from 0" in lines[0]
    assert "unknown channel 'solar'" in lines[1]


def test_a_symlinked_state_file_is_never_followed(tmp_path, caplog):
    target = tmp_path / "elsewhere"
    target.write_text("do not touch")
    path = tmp_path / "energy.json"
    path.symlink_to(target)
    caplog.set_level(logging.WARNING)
    payload = Run(path).run(0, 60)
    assert payload["computed_energy"]["battery_charged_wh"] == 60
    assert target.read_text() == "do not touch"
    assert "symbolic link" in caplog.records[0].getMessage()
    assert path.is_file() and not path.is_symlink()  # replaced by the bridge's own file


def test_an_unwritable_place_keeps_the_counters_in_memory_with_one_warning(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    caplog.set_level(logging.WARNING)
    run = Run(blocker / "energy.json")
    payload = run.run(0, 600)
    assert payload["computed_energy"]["battery_charged_wh"] == 600
    [line] = [r.getMessage() for r in caplog.records]
    assert "cannot write computed energy state" in line and "memory only" in line


def test_absurd_power_is_dropped_and_said_once_per_streak(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    run = Run(tmp_path / "energy.json")
    run.run(0, 60)
    for at in (70, 80, 90):
        run.cycle(at, 4e9)
    payload = run.cycle(100, -3600)
    assert payload["computed_energy"]["battery_charged_wh"] == 100  # 60 -> 100 bridged at 3.6 kW
    [line] = [r.getMessage() for r in caplog.records]
    assert "battery power 4000000000.0 is not a plausible sample" in line
    assert run.energy.channels["battery"].dropped == 3


def test_without_a_path_the_counters_live_in_memory(tmp_path):
    run = Run(None)
    assert run.run(0, 3600)["computed_energy"]["battery_charged_wh"] == 3600
    assert list(tmp_path.iterdir()) == []


def test_the_ct_list_is_known_none_or_unknown():
    body = [{"eid": 7, "state": "enabled", "measurementType": "storage"}, {"eid": 8, "state": "disabled"}]
    parsed = {"/ivp/meters": ENDPOINTS["/ivp/meters"](decode_json("/ivp/meters", json.dumps(body)))}
    polled = {"info": ("/ivp/meters",)}
    assert ct_types_of(parsed, polled) == frozenset({"storage"})
    assert ct_types_of({}, polled) is None  # polled, but no answer this cycle: unknown
    assert ct_types_of({}, {"info": ("/admin/lib/tariff",)}) == frozenset()  # not polled: no enabled CT


def test_the_gap_limit_is_never_below_twice_the_slower_power_reading():
    assert effective_max_gap_s(EnergyConfig(max_gap_s=300.0), PollIntervals()) == 300.0
    assert effective_max_gap_s(EnergyConfig(max_gap_s=300.0), PollIntervals(energy=300.0)) == 600.0
    assert effective_max_gap_s(EnergyConfig(max_gap_s=900.0), PollIntervals(batteries=400.0)) == 900.0
