"""bridge.capture.redact: serials, tokens, cookies, e-mail addresses, site names and coordinates
masked consistently; the data (numbers, formatting) kept byte for byte; every real capture clean."""

from __future__ import annotations

import json
import re

import pytest

from bridge.capture.redact import Redactor, serial_placeholder
from tests.support.captures import capture_names, captures_root
from tests.support.tokens import make_token

GATEWAY, INVERTER, BATTERY, ENPOWER = "122233445566", "482120012345", "122304056789", "482326083757"
INFO = f"<?xml version='1.0'?><envoy_info><time>1703033831</time><device><sn>{GATEWAY}</sn></device></envoy_info>"
INVERTERS = json.dumps([{"serialNumber": INVERTER, "lastReportDate": 1703033800, "lastReportWatts": 231}], indent=2)
STATUS = json.dumps({"inventory": {"serial_nums": {ENPOWER: {"device_id": ENPOWER, "submodules": {BATTERY: {}}}}}})
RELAYS = json.dumps({"dry_contacts": [{"id": "NC1", "pv_serial_nb": [INVERTER, "SN-X7"], "load_name": "Furnace"}]})


def masked_all(redactor: Redactor, *bodies: str) -> list[str]:
    """As a capture does: learn every body first, then mask each."""
    for body in bodies:
        redactor.learn(body.encode())
    return [redactor.mask(body.encode()).decode() for body in bodies]


def test_a_serial_gets_the_same_placeholder_in_every_body_and_path():
    redactor = Redactor(serials=[GATEWAY])
    info, inverters, status, relays = masked_all(redactor, INFO, INVERTERS, STATUS, RELAYS)
    text = info + inverters + status + relays
    for real in (GATEWAY, INVERTER, BATTERY, ENPOWER):
        assert real not in text
    placeholders = {real: redactor.serial(real) for real in (GATEWAY, INVERTER, BATTERY, ENPOWER)}
    assert placeholders[GATEWAY] == "900000000001"  # the gateway first: the one given
    assert all(re.fullmatch(r"9\d{11}", p) for p in placeholders.values())
    assert len(set(placeholders.values())) == 4
    assert f"<sn>{placeholders[GATEWAY]}</sn>" in info
    assert placeholders[INVERTER] in inverters and placeholders[INVERTER] in relays
    assert json.loads(status)["inventory"]["serial_nums"][placeholders[ENPOWER]]["device_id"] == placeholders[ENPOWER]
    assert redactor.name(f"ivp_mod_{GATEWAY}_mode_power") == f"ivp_mod_{placeholders[GATEWAY]}_mode_power"
    assert "SN-X7" not in relays and '"load_name": "Furnace"' in relays  # a load is not a site


def test_a_serial_first_met_in_a_later_body_is_masked_in_the_earlier_ones():
    free_text = f'{{"message": "device {INVERTER} stopped reporting"}}'
    first, _ = masked_all(Redactor(), free_text, INVERTERS)
    assert INVERTER not in first


def test_numbers_that_are_data_and_the_formatting_stay_byte_for_byte():
    body = (
        '{"wattsNow": 2875, "whLifetime": 123456789012, "eid": 704643328, "readingTime": 1703033831,\n'
        f'  "pwrFactor": 0.98, "api_ecagtDevIdToSerial": 52526, "serial_num":   "{BATTERY}"}}'
    )
    redactor = Redactor()
    out = redactor.mask(body.encode()).decode()
    assert out == body.replace(BATTERY, redactor.serial(BATTERY))


def test_tokens_cookies_passwords_and_configured_secrets_are_masked():
    token = make_token(3600)
    body = json.dumps(
        {"token": token, "note": "Set-Cookie: sessionId=abc123; Path=/", "password": "hunter2", "x": "pw s3cr3t-pw"}
    )
    out = Redactor(secrets=["s3cr3t-pw"]).mask(body.encode()).decode()
    for secret in (token, "abc123", "hunter2", "s3cr3t-pw", "eyJ"):
        assert secret not in out
    assert json.loads(out)["password"] == "********"


def test_e_mail_addresses_site_names_and_coordinates_are_masked_consistently():
    site = json.dumps(
        {
            "site_name": "Rose Cottage",
            "owner": {"email": "Jane.Doe@Mail.example.org", "address": "1 Main Street", "zip": "1012 AB"},
            "latitude": 52.3731,
            "longitude": "4.8922",
            "location": {"type": "Point", "coordinates": [4.8922, 52.3731]},
            "notes": "ask jane.doe@mail.example.org",
        }
    )
    later = '<system><name>Rose Cottage</name><lat>52.3731</lat></system> {"title": "Rose Cottage"}'
    out, xml = masked_all(Redactor(), site, later)
    for real in ("Rose Cottage", "Jane.Doe", "jane.doe", "Main Street", "1012 AB", "52.37", "4.89"):
        assert real not in out + xml
    doc = json.loads(out)
    assert doc["site_name"] == "name-1" and doc["owner"]["email"] == "user1@example.com"
    assert doc["notes"] == "ask user1@example.com"  # the same address, whatever its case
    assert (doc["latitude"], doc["longitude"], doc["location"]["coordinates"]) == (0, "0", [0, 0])
    assert xml == '<system><name>name-1</name><lat>0</lat></system> {"title": "name-1"}'


def test_mac_addresses_and_public_addresses_are_masked_but_the_lan_address_stays():
    home = json.dumps(
        {
            "interfaces": [
                {"mac": "00:1D:C0:73:5C:04", "ip": "192.168.3.16"},
                {"mac": "2c-ab-33-cb-86-2e", "ip": "8.8.4.4"},
            ]
        }
    )
    redactor = Redactor()
    doc = json.loads(redactor.mask(home.encode()))
    assert [i["mac"] for i in doc["interfaces"]] == ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    assert [i["ip"] for i in doc["interfaces"]] == ["192.168.3.16", "192.0.2.1"]
    assert redactor.counts() == {"MAC addresses": 2, "IP addresses": 1}


def test_a_body_that_is_neither_json_nor_utf8_survives_byte_for_byte():
    body = b"<html>Envoy \xe9t\xe9 " + GATEWAY.encode() + b"</html>\xff"
    redactor = Redactor()
    assert redactor.mask(body) == body.replace(GATEWAY.encode(), redactor.serial(GATEWAY).encode())


def test_placeholders_keep_the_shape_and_never_equal_a_known_original():
    assert serial_placeholder("122233445566", 7) == "900000000007"
    assert serial_placeholder("EIM1ABC", 3) == "SN00003"
    redactor = Redactor(serials=["900000000001", GATEWAY])
    assert redactor.serial("900000000001") != "900000000001"
    assert redactor.serial(GATEWAY) not in ("900000000001", redactor.serial("900000000001"))


# --- every real capture -----------------------------------------------------------------------

SERIAL_FIELD = re.compile(r'(?i)"(?:sn|s|serialNumber|serial_num|device_id)"\s*:\s*"?([A-Za-z0-9-]+)')
SERIAL_LIST = re.compile(r'"pv_serial_nb"\s*:\s*\[([^\]]*)\]')
TWELVE_DIGITS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def real_serials(text: str) -> set[str]:
    """The serials of a body, found independently of the module under test (a real serial has digits)."""
    found = set(SERIAL_FIELD.findall(text)) | set(re.findall(r"<sn>([^<]+)</sn>", text))
    for items in SERIAL_LIST.findall(text):
        found |= set(re.findall(r'"([^"]+)"', items))
    found |= {run for run in TWELVE_DIGITS.findall(text) if f'"{run}"' in text or f"<sn>{run}" in text}
    return {s for s in found if sum(c.isdigit() for c in s) >= 10}


def numbers_outside_serials(node: object, key: str = "") -> list[object]:
    if isinstance(node, dict):
        return [n for k, v in node.items() for n in numbers_outside_serials(v, k.lower())]
    if isinstance(node, list):
        return [n for item in node for n in numbers_outside_serials(item, key)]
    serial_key = key in ("sn", "s", "device_id") or "serial" in key
    return [node] if isinstance(node, (int, float)) and not serial_key else []


@pytest.mark.parametrize("name", capture_names() or ["(captures absent)"])
def test_no_serial_survives_in_any_real_capture_and_the_data_stay(name):
    folder = captures_root() / name
    bodies = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "_readme"}
    redactor = Redactor()
    for body in bodies.values():
        redactor.learn(body)
    originals = set().union(*(real_serials(body.decode("utf-8", "replace")) for body in bodies.values()))
    for file, body in bodies.items():
        out = redactor.mask(body).decode("utf-8", "surrogateescape")
        survivors = {s for s in originals if re.search(rf"(?<![A-Za-z0-9]){re.escape(s)}(?![A-Za-z0-9])", out)}
        assert not survivors, f"{name}/{file}: {sorted(survivors)[:3]}"
        try:
            before = json.loads(body)
        except ValueError:
            continue
        assert numbers_outside_serials(json.loads(out)) == numbers_outside_serials(before), f"{name}/{file}"
