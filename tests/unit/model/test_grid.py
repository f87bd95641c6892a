"""Grid status: Enpower relay first, then the IQ Meter Collar; misleading fields ignored."""

from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError
from bridge.model import ENDPOINTS, GatewayInfo, build_state, decode_json, select_endpoints

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
INVENTORY, RELAY, V1 = "/ivp/ensemble/inventory", "/ivp/ensemble/relay", "/api/v1/production"
INFO = GatewayInfo("123456789012", "8.2.127", "800-00654-r08", True, True)
PRODUCTION = {"wattHoursToday": 1000, "wattHoursSevenDays": 7000, "wattHoursLifetime": 900000, "wattsNow": 400}


def body(name):
    return decode_json(name, (BODIES / name).read_bytes())


def enpower_inventory(oper_state):
    return [
        {
            "type": "ENPOWER",
            "devices": [{"serial_num": "1", "mains_oper_state": oper_state, "mains_admin_state": "closed"}],
        }
    ]


def status(docs):
    parsed = {endpoint: ENDPOINTS[endpoint](doc) for endpoint, doc in docs.items()}
    return build_state(INFO, {V1: ENDPOINTS[V1](PRODUCTION), **parsed}, 1.0).grid_status


@pytest.mark.parametrize("oper_state, expected", [("closed", "on_grid"), ("open", "off_grid"), ("CLOSED", "on_grid")])
def test_enpower_mains_oper_state(oper_state, expected):
    assert status({INVENTORY: enpower_inventory(oper_state)}) == expected


def test_enpower_open_on_generator_is_off_grid_whatever_enpwr_grid_mode_says():
    assert status({INVENTORY: body("inventory_enpower_open.json")}) == "off_grid"


def test_collar_admin_state_is_authoritative_not_grid_state():
    assert status({INVENTORY: body("inventory_collar_off_grid.json")}) == "off_grid"
    doc = body("inventory_collar_off_grid.json")
    doc[1]["devices"][0]["admin_state_str"] = "ENCMN_MDE_ON_GRID"
    assert status({INVENTORY: doc}) == "on_grid"


def test_relay_is_used_when_an_enpower_is_present():
    assert status({INVENTORY: enpower_inventory("closed"), RELAY: {"mains_oper_state": "open"}}) == "off_grid"
    assert status({INVENTORY: enpower_inventory(None), RELAY: {"mains_oper_state": "closed"}}) == "on_grid"


def test_relay_means_nothing_without_an_enpower():
    no_enpower = [{"type": "ENCHARGE", "devices": [{"serial_num": "2"}]}]
    assert status({INVENTORY: no_enpower, RELAY: {"mains_oper_state": "closed"}}) is None
    assert status({RELAY: {"mains_oper_state": "closed"}}) is None  # inventory unknown


def test_enpower_wins_over_collar():
    doc = body("inventory_collar_off_grid.json") + enpower_inventory("closed")
    assert status({INVENTORY: doc}) == "on_grid"


def test_unknown_states_give_no_status_and_no_grid_section():
    parsed = {V1: ENDPOINTS[V1](PRODUCTION), INVENTORY: ENDPOINTS[INVENTORY](enpower_inventory("islanding?"))}
    state = build_state(INFO, parsed, 1.0)
    assert state.grid_status is None and "grid" not in state.as_payload()


def test_grid_status_is_published_in_the_payload():
    parsed = {V1: ENDPOINTS[V1](PRODUCTION), INVENTORY: ENDPOINTS[INVENTORY](enpower_inventory("open"))}
    assert build_state(INFO, parsed, 1.0).as_payload()["grid"] == {"status": "off_grid"}


def test_grid_status_alone_is_a_usable_snapshot():
    parsed = {INVENTORY: ENDPOINTS[INVENTORY](enpower_inventory("closed"))}
    assert build_state(INFO, parsed, 1.0).as_payload()["grid"] == {"status": "on_grid"}


@pytest.mark.parametrize(
    "inventory, relay, expected",
    [
        (enpower_inventory("closed"), {"mains_oper_state": "closed"}, {INVENTORY, RELAY}),
        (enpower_inventory("closed"), None, {INVENTORY}),
        # batteries keep the inventory polled, but the relay means nothing without an Enpower
        ([{"type": "ENCHARGE", "devices": [{"serial_num": "2"}]}], {"mains_oper_state": "closed"}, {INVENTORY}),
        ([], {"mains_oper_state": "closed"}, set()),
    ],
    ids=["enpower+relay", "enpower", "battery-only", "empty"],
)
def test_grid_relay_selected_only_with_enpower_and_inventory_only_with_devices(inventory, relay, expected):
    probed = {INVENTORY: ENDPOINTS[INVENTORY](inventory)}
    if relay is not None:
        probed[RELAY] = ENDPOINTS[RELAY](relay)
    assert select_endpoints(INFO, probed) == expected
    collar = {INVENTORY: ENDPOINTS[INVENTORY](body("inventory_collar_off_grid.json"))}
    assert select_endpoints(INFO, collar) == {INVENTORY}


@pytest.mark.parametrize("doc", [{"error": "404 - Not Found"}, [{"type": "ENPOWER", "devices": "x"}], "x", [1]])
def test_inventory_wrong_shapes_are_data_errors(doc):
    with pytest.raises(EnvoyDataError):
        ENDPOINTS[INVENTORY](doc)


@pytest.mark.parametrize("doc", [{"error": "404 - Not Found"}, [], {"mains_oper_state": True}])
def test_relay_wrong_shapes_are_data_errors(doc):
    with pytest.raises(EnvoyDataError):
        ENDPOINTS[RELAY](doc)
