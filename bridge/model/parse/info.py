"""`GET /info`: serial, firmware, part number, metered flag. XML, no authentication."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bridge.errors import EnvoyDataError

# Token auth arrived with firmware 7; older gateways use HTTP digest (reference §1.1-1.3).
TOKEN_AUTH_MIN_VERSION = (7, 0, 0)
VERSION_RE = re.compile(r"^[A-Za-z]?(\d+)\.(\d+)\.(\d+)")


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
    match = VERSION_RE.match(text.strip())
    if not match:
        raise EnvoyDataError(f"/info: unreadable firmware version {text[:40]!r}")
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
