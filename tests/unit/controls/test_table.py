"""The table of controls: paths, values, where each value shows, what a gateway has."""

from __future__ import annotations

import pytest

from bridge.config import ControlsConfig
from bridge.controls.table import CONTROLS, NUMBER, SELECT, SWITCH, Control, available_controls, match
from bridge.errors import CommandRefused
from tests.unit.controls.gateway import ACB, ALL_ON, make_controls


def control(path: str) -> Control:
    found = match(path, ALL_ON)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("path", "raw", "value"),
    [
        ("storage/reserve", "20", 20),
        ("storage/reserve", "20.0", 20),
        ("storage/reserve", 100, 100),
        ("storage/reserve", 0.0, 0),
        ("storage/mode", " Backup ", "backup"),
        ("storage/charge_from_grid", "on", "ON"),
        ("storage/charge_from_grid", False, "OFF"),
        ("relay/NC1/grid_action", "schedule", "schedule"),
        ("generator/mode", "AUTO", "auto"),
    ],
)
def test_values_each_control_takes(path, raw, value):
    assert control(path).type.value(raw) == value


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("storage/reserve", "99999999999999999999"),
        ("storage/reserve", 10**400),
        ("storage/reserve", float("inf")),
        ("storage/reserve", [20]),
        ("storage/reserve", {"v": 1}),
        ("storage/mode", None),
        ("storage/charge_from_grid", "TRUE"),
        ("relay/NC1/mode", "closed"),  # Homebridge's bug (§1.3.2), not a mode
    ],
)
def test_values_refused(path, raw):
    with pytest.raises(CommandRefused):
        control(path).type.value(raw)


def test_paths_match_only_enabled_families_and_valid_units():
    relays_only = ControlsConfig(relays=True)
    assert match("relay/NC1/mode", relays_only) == Control(control("relay/NC1/mode").type, "NC1")
    assert match("storage/mode", relays_only) is None
    assert match("relay/NC 1", ALL_ON) is None
    assert match("relay/NC1/mode/extra", ALL_ON) is None
    assert match(f"acb/{ACB}/sleep", ALL_ON).unit == ACB


def test_every_control_has_a_kind_and_a_family_and_selects_have_options():
    for kind in CONTROLS:
        assert kind.kind in (SWITCH, SELECT, NUMBER)
        assert kind.family in ("battery", "relays", "grid", "generator", "production")
        assert bool(kind.options) == (kind.kind == SELECT)


def test_available_controls_follow_the_hardware_the_token_and_the_config():
    controls, *_ = make_controls(user_type="owner")
    found = {a.path: a for a in available_controls(controls.latest, ALL_ON)}
    assert "production" not in found  # an owner token
    assert found["grid/connection"].document == "enpower/482200000099"
    assert found["grid/connection"].field == "mains_admin_state"
    assert found["storage/reserve"].kind == NUMBER and (
        found["storage/reserve"].minimum,
        found["storage/reserve"].maximum,
    ) == (0, 100)
    assert found["storage/mode"].options == ("backup", "self-consumption", "savings")
    assert found[f"acb/{ACB}/sleep"].document == f"acb/{ACB}"
    assert {p for p in found if p.startswith("relay/")} == {
        "relay/NC1",
        "relay/NC1/mode",
        "relay/NC1/grid_action",
        "relay/NC1/microgrid_action",
        "relay/NC1/generator_action",
        "relay/NC1/soc_low",
        "relay/NC1/soc_high",
    }
    assert [a.path for a in available_controls(controls.latest, ControlsConfig(generator=True))] == ["generator/mode"]
    assert available_controls(controls.latest, ControlsConfig()) == ()


def test_production_is_available_with_an_installer_token_only():
    controls, *_ = make_controls(user_type="installer")
    found = {a.path: a for a in available_controls(controls.latest, ALL_ON)}
    assert (found["production"].document, found["production"].field, found["production"].kind) == (
        "production",
        "forced_off",
        SWITCH,
    )


def test_current_values_in_command_form():
    controls, *_ = make_controls()
    snapshot = controls.latest
    assert control("storage/mode").current(snapshot) == "self-consumption"
    assert control("storage/reserve").current(snapshot) == 20
    assert control("storage/charge_from_grid").current(snapshot) == "OFF"
    assert control("grid/connection").current(snapshot) == "ON"
    assert control("relay/NC1").current(snapshot) == "OFF"
    assert control("relay/NC1/microgrid_action").current(snapshot) == "shed"
    assert control("relay/NC2").current(snapshot) is None
    assert control("generator/mode").current(snapshot) == "auto"


def test_the_gateways_own_word_for_an_option_is_taken_as_that_option():
    by_template = {control.template: control for control in CONTROLS}
    assert by_template["storage/mode"].value("economy") == "savings"  # the gateway's name for it
    assert by_template["relay/{unit}/grid_action"].value("none") == "no_action"
    assert by_template["relay/{unit}/grid_action"].value("No_Action") == "no_action"
    with pytest.raises(CommandRefused):
        by_template["relay/{unit}/mode"].value("none")  # not an action: no alias there
