"""The gateway's request for each checked command; documents read first are sent back whole."""

from __future__ import annotations

import pytest

from bridge.controls.table import match
from bridge.controls.writes import Write, read_back, request_for
from bridge.errors import CommandRefused
from tests.unit.controls.gateway import ALL_ON, documents


def write(path: str, value, docs=None, eid: int = 603980032) -> Write:
    docs = documents() if docs is None else docs
    return request_for(match(path, ALL_ON), value, docs.__getitem__, eid)


def test_the_tariff_goes_back_whole_and_unknown_fields_are_kept():
    docs = documents()
    docs["/admin/lib/tariff"]["tariff"]["storage_settings"]["a_later_firmware_field"] = 7
    sent = write("storage/reserve", 35, docs)
    assert sent.method == "PUT" and sent.path == "/admin/lib/tariff"
    settings = sent.body["tariff"]["storage_settings"]
    assert settings["reserved_soc"] == 35.0 and settings["a_later_firmware_field"] == 7
    assert settings["opt_schedules"] is True  # only a mode change turns the optimised schedule off
    assert "schedule" not in sent.body  # the gateway rebuilds it (§1.1.3)
    assert docs["/admin/lib/tariff"]["tariff"]["storage_settings"]["reserved_soc"] == 20.0  # the read copy untouched


def test_a_mode_without_opt_schedules_gets_none_added():
    docs = documents()
    del docs["/admin/lib/tariff"]["tariff"]["storage_settings"]["opt_schedules"]
    settings = write("storage/mode", "backup", docs).body["tariff"]["storage_settings"]
    assert settings["mode"] == "backup" and "opt_schedules" not in settings


@pytest.mark.parametrize(
    "tariff",
    [{"tariff": {"currency": {"code": "EUR"}}}, {"tariff": {"storage_settings": {}}}, {"tariff": []}, []],
)
def test_a_tariff_without_storage_settings_is_refused(tariff):
    docs = documents()
    docs["/admin/lib/tariff"] = tariff
    with pytest.raises(CommandRefused, match="no storage settings"):
        write("storage/charge_from_grid", "ON", docs)


def test_relay_settings_of_an_unknown_or_doubled_relay_are_refused():
    docs = documents()
    with pytest.raises(CommandRefused, match="no relay"):
        write("relay/NO1/mode", "soc", docs)
    relays = docs["/ivp/ss/dry_contact_settings"]["dry_contacts"]
    relays.append(dict(relays[0]))
    with pytest.raises(CommandRefused, match="no relay"):
        write("relay/NC1/mode", "soc", docs)


def test_relay_actions_use_the_gateways_field_names():
    assert write("relay/NC1/generator_action", "apply").body["dry_contacts"]["gen_action"] == "apply"
    assert write("relay/NC1/microgrid_action", "none").body["dry_contacts"]["micro_grid_action"] == "none"
    assert write("relay/NC1/microgrid_action", "no_action").body["dry_contacts"]["micro_grid_action"] == "none"


def test_production_uses_the_configured_eid():
    assert write("production", "ON", eid=12345) == Write("PUT", "/ivp/mod/12345/mode/power", {"length": 1, "arr": [0]})


@pytest.mark.parametrize(
    ("document", "value"),
    [
        ({"acb_sleep": [{"serial_num": 121900000001, "sleep_min_soc": 95}]}, "ON"),  # a number, as MAT shows it
        ({"acb_sleep": [{"serial_num": "121900000002"}]}, "OFF"),
        ({"acb_sleep": []}, "OFF"),
        ({"message": "success"}, None),
        ([], None),
    ],
)
def test_acb_sleep_read_back_from_its_config(document, value):
    acb = match("acb/121900000001/sleep", ALL_ON)
    assert read_back(acb, {"/admin/lib/acb_config": document}.__getitem__, 603980032) == value


@pytest.mark.parametrize(
    ("document", "value"),
    [({"powerForcedOff": True}, "OFF"), ({"powerForcedOff": False}, "ON"), ({"powerForcedOff": 1}, None), ({}, None)],
)
def test_production_read_back(document, value):
    production = match("production", ALL_ON)
    assert read_back(production, {"/ivp/mod/7/mode/power": document}.__getitem__, 7) == value
