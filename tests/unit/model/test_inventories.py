"""The two inventories, `/ivp/ensemble/inventory` and `/inventory.json?deleted=1`, share one
shape (a list of `{"type", "devices"}` groups) and one reader of it, `codec.device_groups`."""

from __future__ import annotations

import re

import pytest

from bridge.errors import EnvoyDataError
from bridge.model import ENDPOINTS

ENSEMBLE, DEVICES = "/ivp/ensemble/inventory", "/inventory.json?deleted=1"
BATTERY = {"serial_num": "122301000001", "part_num": "830-01760-r46", "communicating": True}


def test_both_inventories_read_the_groups_alike():
    doc = [{"type": "ENCHARGE", "devices": [BATTERY]}, {"devices": [BATTERY]}, {"type": "NSRB"}]
    ensemble = ENDPOINTS[ENSEMBLE](doc)
    assert [e.unit.serial for e in ensemble.encharges] == ["122301000001"]
    assert ensemble.device_counts == (("ENCHARGE", 1), ("", 1), ("NSRB", 0))  # no type reads as ""
    inventory = ENDPOINTS[DEVICES](doc)
    assert [(d.kind, d.serial) for d in inventory.devices] == [("ENCHARGE", "122301000001"), ("", "122301000001")]


@pytest.mark.parametrize("endpoint", [ENSEMBLE, DEVICES])
@pytest.mark.parametrize(
    "doc, where",
    [
        ({"type": "ENCHARGE"}, "expected a list, got dict"),
        ([{"type": 3, "devices": []}], "[0].type: expected a string, got int"),
        ([{"type": "PCU", "devices": {}}], "[0].devices: expected a list, got dict"),
        ([{"type": "PCU", "devices": [7]}], "[0].devices[0]: expected an object, got int"),
    ],
)
def test_a_bad_group_is_a_data_error_naming_where(endpoint, doc, where):
    with pytest.raises(EnvoyDataError, match=f"^{re.escape(f'{endpoint}: {where}')}$"):
        ENDPOINTS[endpoint](doc)


@pytest.mark.parametrize("endpoint", [ENSEMBLE, DEVICES])
def test_groups_are_read_in_order_so_the_first_bad_part_is_the_one_named(endpoint):
    bad_device_first = [{"type": "ENCHARGE", "devices": [{"serial_num": []}]}, {"type": 3}]
    with pytest.raises(EnvoyDataError, match=r"\[0\]\.devices\[0\]\.serial_num"):
        ENDPOINTS[endpoint](bad_device_first)
