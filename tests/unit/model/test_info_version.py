"""bridge.model.parse.info, the firmware version (issue 11, finding 14): any odd version in /info
is an EnvoyDataError with a short message, never a ValueError, a wrong number or a long line."""

from __future__ import annotations

import pytest

from bridge.errors import EnvoyDataError
from bridge.model import parse_info
from bridge.model.parse.info import MAX_FIRMWARE_CHARS, parse_version


def info_body(software: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><envoy_info><device><sn>122233445566</sn>"
        f"<software>{software}</software><imeter>true</imeter></device></envoy_info>"
    ).encode()


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("8.2.4264", (8, 2, 4264)),  # every real one: a letter, dropped by parse_info, then three numbers
        ("D8.3.5167", (8, 3, 5167)),
        ("3.7.0", (3, 7, 0)),
        ("8.2.127 (fd7cd2)", (8, 2, 127)),  # a short build tag after the patch is kept
        ("7.0.88-rc1", (7, 0, 88)),
        ("999999.999999.999999", (999999, 999999, 999999)),
    ],
)
def test_real_and_plausible_versions_parse(text, version):
    assert parse_version(text) == version


@pytest.mark.parametrize(
    "text",
    [
        "5" * 5000 + ".0.1",  # int() would raise ValueError past 4,300 digits
        "8.2." + "7" * 5000,
        "1234567.0.0",  # more digits than any release: not read as 123456
        "8.2.1234567",
        ".".join(["1"] * 10_000),  # 10,000 parts
        "-8.2.1",
        "8.-2.1",
        "8.x.1",
        "8.2",
        "",
        "   ",
        "\u0668.\u0662.\u0661",  # Arabic-Indic digits: int() reads them, no firmware writes them
        "８.２.１",  # full-width digits
        "8.2.1\nERROR forged log line",  # printable only: it is logged and published
        "8.2.1\x00",
        "8.2.1 " + "x" * MAX_FIRMWARE_CHARS,
    ],
    ids=lambda text: repr(text[:12]) + f"_{len(text)}",
)
def test_h11_14_odd_versions_are_a_short_data_error(text):
    with pytest.raises(EnvoyDataError, match=r"^/info: unreadable firmware version ") as err:
        parse_version(text)
    message = str(err.value)
    assert len(message) < 120 and "\n" not in message and "\x00" not in message
    if len(text) > MAX_FIRMWARE_CHARS:
        assert f"({len(text.strip())} characters)" in message


@pytest.mark.parametrize("software", ["D" + "5" * 5000 + ".0.1", "R" + ".".join(["1"] * 10_000), "D-1.0.0", "Dx"])
def test_h11_14_parse_info_turns_an_odd_firmware_into_a_data_error(software):
    with pytest.raises(EnvoyDataError, match="unreadable firmware version"):
        parse_info(info_body(software))


def test_h11_14_a_real_info_keeps_its_firmware_text():
    info = parse_info(info_body("D8.2.4382"))
    assert (info.firmware, info.version, info.uses_token_auth) == ("8.2.4382", (8, 2, 4382), True)
