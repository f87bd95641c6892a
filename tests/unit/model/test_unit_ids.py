"""Identifiers from the gateway that become topic levels (issue 11, findings 2, 3 and 15): the
gateway's /info serial, and each unit's serial or relay id in a body, by the one rule of
bridge/identifiers.py. A bad gateway serial is a data error; a bad unit id costs that unit's
document only, with its reason, and what the unit reports still counts in the totals."""

from __future__ import annotations

import pytest

from bridge.errors import EnvoyDataError
from bridge.identifiers import show
from bridge.model import parse_info
from tests.unit.model.test_devices import DRY, INVENTORY, INVERTERS, POWER, battery_docs, body, generator_docs, state

INFO = "<envoy_info><device><sn>{}</sn><software>D8.2.4382</software><pn>800-00654-r08</pn></device></envoy_info>"


def info(serial: str) -> bytes:
    return INFO.format(serial).encode()


@pytest.mark.parametrize(
    "serial, reason",
    [
        ("1221#5678", "contains an MQTT wildcard"),  # finding 2
        ("1221+5678", "contains an MQTT wildcard"),
        ("1" * 70_000, "is longer than 64 characters"),
        ("1221\t5678", "contains a control character"),  # finding 3
        ("1221\x855678", "contains a control character"),
        ("bridge", "is reserved"),  # finding 15
        ("12/34", "contains '/'"),
        ("12 34", "contains a space"),
        ("caf\u00e9", "contains a non-ASCII character"),
    ],
)
def test_h11_2_3_15_an_info_serial_outside_the_rule_is_a_data_error_naming_it(serial, reason):
    with pytest.raises(EnvoyDataError) as err:
        parse_info(info(serial))
    message = str(err.value)
    assert message.startswith(f"/info: serial {show(serial)} {reason}") and "cannot name MQTT topics" in message
    assert "\t" not in message and "\n" not in message and len(message) < 200  # one short, safe line


def test_an_info_serial_as_real_gateways_send_it_passes():
    assert parse_info(info("122035000000")).serial == "122035000000"
    assert parse_info(info(" 122035000000\n")).serial == "122035000000"  # XML whitespace around it


def inverters(*serials: str) -> list[dict]:
    return [
        {"serialNumber": s, "lastReportDate": 1760000000 + i, "devType": 1, "lastReportWatts": 100 + i}
        for i, s in enumerate(serials)
    ]


def test_h11_3_a_unit_serial_ending_in_a_newline_is_left_out_with_its_reason_the_rest_flows():
    found = state({INVERTERS: inverters("482300000001", "482300000002\n", "4823#0003", "482300000004")})
    docs = found.device_payloads()
    assert sorted(docs) == ["inverter/482300000001", "inverter/482300000004"]
    assert docs["inverter/482300000004"]["power_w"] == 103  # the others' numbers, untouched
    assert found.refused_units == (
        "inverter with serial '482300000002\\n' left out: its serial contains a control character",
        "inverter with serial '4823#0003' left out: its serial contains an MQTT wildcard ('#' or '+')",
    )
    assert "production" in found.as_payload()  # the state flows


def test_h11_15_a_unit_serial_with_a_slash_or_a_space_is_left_out():
    found = state({INVERTERS: inverters("4823/0001", "4823 0002", "482300000003")})
    assert list(found.device_payloads()) == ["inverter/482300000003"]
    assert [r.split(" left out")[0] for r in found.refused_units] == [
        "inverter with serial '4823/0001'",
        "inverter with serial '4823 0002'",
    ]


def test_h11_15_a_relay_id_outside_the_rule_is_left_out_as_an_id():
    docs = {INVENTORY: body("inventory_enpower_open.json"), DRY: body("dry_contacts_status.json")}
    docs[DRY]["dry_contacts"][0]["id"] = "NC 1"
    found = state(docs)
    assert "relay/NO1" in found.device_payloads() and not any(" " in t for t in found.device_payloads())
    assert found.refused_units == ("relay with id 'NC 1' left out: its id contains a space",)


def test_a_battery_left_out_for_its_serial_still_counts_in_the_batteries_power():
    """Its own document goes; its power stays in the total, or the total would be a wrong number
    (the sum of some batteries is not the batteries' power)."""
    docs = battery_docs()
    intact = state(docs).as_payload()["battery"]["power_w"]
    docs[POWER]["devices:"][1]["serial_num"] = "1220350#0002"
    found = state(docs)
    assert "battery/1220350#0002" not in found.device_payloads() and "battery/122035000001" in found.device_payloads()
    assert found.as_payload()["battery"]["power_w"] == intact == 750
    assert len(found.refused_units) == 1 and found.refused_units[0].startswith("battery with serial '1220350#0002'")


def test_the_generator_has_no_id_level_and_is_never_refused():
    found = state(generator_docs())
    assert "generator" in found.device_payloads() and found.refused_units == ()
