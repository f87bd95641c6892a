"""Scenario files: the built-in systems, loading YAML by name or path, and what is refused."""

from __future__ import annotations

import pytest

from bridge.simulator.scenario import Battery, Cloud, Peak, builtin_names, load_scenario, scenario_from_dict
from tests.unit.simulator.helpers import SCENARIOS


def test_the_builtin_scenarios():
    assert set(SCENARIOS) <= set(builtin_names())
    standard, metered, battery, acb = (load_scenario(n) for n in SCENARIOS)
    assert not standard.metered and standard.cts == () and not standard.has_battery
    assert metered.cts == ("production", "net-consumption") and metered.phases == 2
    assert not metered.has_battery
    assert battery.phases == 3 and battery.phase_mode == "three" and battery.has_battery
    assert battery.has_enpower and battery.can_island and "storage" in battery.cts
    assert battery.encharge is battery.battery and battery.acb is None
    assert acb.acb is acb.battery and acb.encharge is None and not acb.can_island and acb.phases == 1
    assert not standard.livedata and metered.livedata and battery.livedata and acb.livedata
    assert battery.livedata_stream_timeout_s == 300 and battery.livedata_when_disabled == "frozen"


def test_scenario_files_are_validated():
    with pytest.raises(ValueError, match="unknown key"):
        scenario_from_dict({"name": "x", "solar": 1})
    with pytest.raises(ValueError, match="12 digits"):
        scenario_from_dict({"name": "x", "serial": "12"})
    with pytest.raises(ValueError, match="no CTs"):
        scenario_from_dict({"name": "x", "metered": False, "cts": ["production"]})
    with pytest.raises(ValueError, match="unknown scenario"):
        load_scenario("nope")


def test_a_yaml_file_by_path_with_nested_sections(tmp_path):
    path = tmp_path / "cabin.yaml"
    path.write_text(
        "serial: 999000000042\n"  # YAML reads a number: the serial stays a string of digits
        "phases: 1\nphase_mode: single\ncts: [production, net-consumption]\n"
        "pv: {inverters: 4}\n"
        "load: {base_w: 100, peaks: [{at: 18, w: 900}], phase_share: [1]}\n"
        "battery: {units: 1, reserve_soc: 30}\n"
    )
    scenario = load_scenario(path)
    assert scenario.name == "cabin" and scenario.serial == "999000000042"
    assert scenario.pv.inverters == 4 and scenario.pv.inverter_w == 300.0  # defaults fill the rest
    assert scenario.load.peaks == (Peak(18, 900),) and scenario.load.phase_share == (1.0,)
    assert scenario.battery == Battery(units=1, reserve_soc=30)
    assert scenario.installed_battery is scenario.battery and not scenario.can_island  # no controller


def test_a_cloud_block_sets_the_mode_and_the_failing_flows(tmp_path):
    path = tmp_path / "picky.yaml"
    path.write_text("cloud:\n  mode: mfa\n  failures:\n    entrez_json: gone\n    entrez_form: installer\n")
    assert load_scenario(path).cloud == Cloud("mfa", {"entrez_json": "gone", "entrez_form": "installer"})
    assert all(load_scenario(name).cloud == Cloud() for name in SCENARIOS)  # built-ins: a working cloud
    assert scenario_from_dict({"name": "x", "cloud": None}).cloud == Cloud("ok", {})


def test_a_battery_without_units_is_no_battery():
    scenario = scenario_from_dict({"name": "x", "battery": {"units": 0}, "enpower_serial": "482200000001"})
    assert scenario.battery is not None and scenario.installed_battery is None
    assert not scenario.has_battery and scenario.has_enpower and not scenario.can_island


@pytest.mark.parametrize(
    "text, problem",
    [
        ("- just\n- a list\n", "expected a mapping at the top"),
        ("name: [unclosed\n", "cannot read scenario"),
        ("pv: 3\n", "pv: expected a mapping"),
        ("load: [1, 2]\n", "load: expected a mapping"),
        ("load: {peaks: [{at: 7, w: 1, height: 2}]}\n", r"load\.peaks: unknown key\(s\) height"),
        ("battery: {units: 1, reserve_soc: 3, very_low_soc: 9}\n", "very_low_soc <= reserve_soc"),
        ("phases: 3\nload: {phase_share: [1, 1]}\n", "one share per phase"),
        ("pv: {sunrise: 20, sunset: 6}\n", "sunrise < sunset"),
        ("cts: [solar]\n", "cts must be among"),
        ("battery: {kind: lead-acid}\n", "kind must be encharge or acb"),
        ("livedata_when_disabled: stale\n", "livedata_when_disabled must be frozen or live"),
        ("livedata_stream_timeout_s: -1\n", "livedata_stream_timeout_s >= 0"),
        ("livedata_stream_timeout_s: soon\n", "livedata_stream_timeout_s >= 0"),
        ("check_jwt: put\n", "check_jwt must be one of any, get, post, absent"),
        ("cloud: down\n", "cloud: expected a mapping"),
        ("cloud: {failures: {entrez_json: gone}, flows: 3}\n", r"cloud: unknown key\(s\) flows"),
        ("cloud: {mode: sideways}\n", "cloud: cloud mode must be one of ok"),
        ("cloud: {failures: [gone]}\n", "cloud.failures: expected a mapping of flow: failure"),
        ("cloud: {failures: {pigeon: gone}}\n", "cloud: cloud flow must be one of entrez_json"),
        ("cloud: {failures: {entrez_form: lost}}\n", "cloud: cloud failure must be one of"),
        ("battery: {storage_mode: savings}\n", "storage_mode must be one of backup, self-consumption"),
        ("relay_loads: {NC7: 0.1}\n", "relay_loads: ids among NC1"),
        ("relay_loads: {NC1: 0.7, NC2: 0.7}\n", "summing to at most 1"),
        ("relay_loads: {NC1: lots}\n", "relay_loads"),
        ("relay_loads: [NC1]\n", "relay_loads must map relay ids to shares"),
    ],
)
def test_what_a_scenario_file_may_not_say(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        load_scenario(path)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValueError, match=r"serial must be 12 digits; phases must be 1\.\.3"):
        scenario_from_dict({"name": "x", "serial": "1", "phases": 4})


def test_a_scenario_says_how_its_check_jwt_answers(tmp_path):
    assert load_scenario("metered").check_jwt == "any"  # GET and POST, as most firmware
    path = tmp_path / "post_only.yaml"
    path.write_text("check_jwt: post\n")
    assert load_scenario(path).check_jwt == "post"


def test_controls_keys_of_a_scenario(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("battery: {storage_mode: backup}\nrelay_loads: {NO2: 0.25}\ngenerator: true\n")
    scenario = load_scenario(path)
    assert scenario.battery is not None and scenario.battery.storage_mode == "backup"
    assert scenario.relay_loads == {"NO2": 0.25} and scenario.generator
    builtin = load_scenario("three_phase_battery")
    assert builtin.relay_loads and not builtin.generator  # relays that feed loads; no generator
