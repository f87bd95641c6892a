"""`GET /info`: serial, firmware, part number, metered flag. XML, no authentication."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bridge import identifiers
from bridge.errors import EnvoyDataError

# Token auth arrived with firmware 7; older gateways use HTTP digest (reference §1.1-1.3).
TOKEN_AUTH_MIN_VERSION = (7, 0, 0)
# "D8.2.4264": major.minor.patch in ASCII digits, a few each (int() refuses a 5,000-digit
# string with ValueError, `\d` would take other scripts' digits, and no release is numbered
# so), then perhaps a build tag. The whole is logged and published, so it must stay short and
# printable: real ones are under 12 characters.
VERSION_RE = re.compile(r"[A-Za-z]?([0-9]{1,6})\.([0-9]{1,6})\.([0-9]{1,6})(?![0-9])")
MAX_FIRMWARE_CHARS = 40


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    serial: str
    firmware: str  # "8.2.127": the <software> text without its R/D prefix
    part_number: str | None
    metered: bool  # <imeter>: a metered model, even when no CT is installed
    web_tokens: bool  # <web-tokens>: the gateway itself says it wants a JWT

    @property
    def version(self) -> tuple[int, int, int]:
        return parse_version(self.firmware)

    @property
    def uses_token_auth(self) -> bool:
        # pyenphase goes by version alone; honouring the gateway's own flag as well costs
        # nothing and covers gateways (and the simulator) that ask for tokens on older builds.
        return self.version >= TOKEN_AUTH_MIN_VERSION or self.web_tokens


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a firmware version; EnvoyDataError for anything that is not one."""
    text = text.strip()
    readable = len(text) <= MAX_FIRMWARE_CHARS and text.isascii() and text.isprintable()
    match = VERSION_RE.match(text) if readable else None
    if not match:
        more = f"... ({len(text)} characters)" if len(text) > MAX_FIRMWARE_CHARS else ""
        raise EnvoyDataError(f"/info: unreadable firmware version {text[:MAX_FIRMWARE_CHARS]!r}{more}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def parse_info(body: bytes) -> GatewayInfo:
    """Parse the /info XML, raising EnvoyDataError for anything that is not a gateway's answer."""
    try:
        # ElementTree resolves no external entities, and the HTTP layer caps the body's size.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as err:
        raise EnvoyDataError(f"/info: not XML ({err})") from None
    device = root.find("device")
    serial = _text(device, "sn")
    software = _text(device, "software")
    if not serial or not software:
        raise EnvoyDataError("/info: no <device><sn> or <software>")
    if why := identifiers.serial_problem(serial):
        # It would name every topic and id of the gateway: a wildcard kills paho's publish, a
        # control character the connection, a `/` or `bridge` lands on other topics.
        raise EnvoyDataError(f"/info: serial {identifiers.show(serial)} {why}; it cannot name MQTT topics")
    firmware = software[1:] if software[:1].isalpha() else software
    parse_version(firmware)
    return GatewayInfo(
        serial=serial,
        firmware=firmware,
        part_number=_text(device, "pn"),
        metered=_text(device, "imeter") == "true",
        web_tokens=_text(root, "web-tokens") == "true",
    )


def _text(parent: ET.Element | None, tag: str) -> str | None:
    node = parent.find(tag) if parent is not None else None
    text = node.text.strip() if node is not None and node.text else ""
    return text or None
