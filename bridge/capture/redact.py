"""Masking what identifies a gateway and its owner in the gateway's answers, consistently.

One `Redactor` gives the same real value the same placeholder in every body and file name it
masks, so a masked capture still hangs together: the inverters of /api/v1/production/inverters
are those of /ivp/pdm/device_data, and the gateway's serial in /info is the one in paths.

- serials: the values of serial keys (`sn`, `serialNumber`, `serial_num`, `device_id`, `s`, any
  key with "serial" in it, the lists of `pv_serial_nb`), every run of 12 digits in a JSON string
  or key (the length of Enphase serials: /ivp/ensemble/status keys its devices by serial) or in
  a body that is not JSON (the `<sn>` of /info), and the serials given; then each of them
  wherever it stands. A placeholder has the original's length and alphabet (12 digits stay 12
  digits, so parsers and topic ids take it), numbered in the order met: `900000000001`, ...
  Nothing of the original is in it (a hash of a 12-digit number would be reversed in seconds);
- tokens, cookies, Authorization headers and passwords (the rules of `bridge.redaction`) and the
  secrets given (the configured password and token): `********`;
- e-mail addresses: `user1@example.com`, ...; site names and addresses (`site_name`, `address`,
  `city`, `zip` ...): `name-1`, ...; coordinates (`latitude`, `lon`, a `coordinates` list): 0;
- MAC addresses: `02:00:00:00:00:01`, ...; public IP addresses of address keys (`ip` ...):
  `192.0.2.1`, ... (private ones, the LAN's, tell nobody anything and stay).

Everything else stays byte for byte: numbers that are data (powers, energies, EIDs, times), the
formatting, a body that is not JSON. Imports only `bridge.redaction`, so any code that shows a
gateway's answer (a capture, a `read` request) masks it by these rules.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable

from bridge.redaction import redact

SERIAL_KEYS = frozenset({"sn", "s", "deviceid", "pvserialnb"})  # and every key with "serial" in it
NAME_KEYS = frozenset(
    {"site", "sitename", "systemname", "ownername", "installername", "address", "address1", "address2"}
    | {"street", "streetaddress", "city", "town", "zip", "zipcode", "postalcode", "postcode"}
)
ADDRESS_KEYS = frozenset({"ip", "ipaddr", "ipaddress", "publicip", "wanip", "gateway", "dns"})
MIN_SERIAL_DIGITS = 10  # a shorter number under a serial-ish key is a counter, not a serial

_SERIAL_SHAPE = re.compile(r"[A-Za-z0-9-]{4,40}")
_SERIAL_RUN = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_MAC = re.compile(r"(?<![0-9A-Fa-f:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_COORDINATE_KEYS = r"latitude|longitude|lat|lon|lng"
_JSON_COORDINATE = re.compile(rf'(?i)("(?:{_COORDINATE_KEYS})"\s*:\s*)("?){_NUMBER}\2')
_XML_COORDINATE = re.compile(rf"(?i)(<({_COORDINATE_KEYS})>)[^<]*(</\2>)")
_GEO_LIST = re.compile(r'(?i)("coordinates"\s*:\s*)(\[[-0-9.eE+,\s\[\]]*\])')


class Placeholders:
    """Originals and their placeholders, numbered in the order met. Placeholders are given when
    asked for, and then avoid every original learnt so far: learn everything first (a capture
    does), and no placeholder can be mistaken for a real value."""

    def __init__(self, make: Callable[[str, int], str]):
        self._make = make
        self._originals: dict[str, None] = {}  # an ordered set
        self._given: dict[str, str] = {}
        self._number = 0

    def learn(self, original: str) -> None:
        self._originals.setdefault(original)

    def add(self, original: str) -> str:
        """The placeholder of `original`, learnt if new."""
        self.learn(original)
        return self.known[original]

    @property
    def known(self) -> dict[str, str]:
        """Every original learnt -> its placeholder."""
        taken = set(self._originals) | set(self._given.values())
        for original in self._originals:
            if original not in self._given:
                candidate = original
                while candidate in taken:
                    self._number += 1
                    candidate = self._make(original, self._number)
                self._given[original] = candidate
                taken.add(candidate)
        return self._given


def serial_placeholder(original: str, number: int) -> str:
    """12 digits stay 12 digits (led by a 9, never a 0 a parser could drop), else `SN` and digits."""
    if original.isdigit():
        return "9" + str(number).zfill(len(original) - 1)
    return "SN" + str(number).zfill(max(len(original) - 2, 1))


class Redactor:
    """Learns what to mask from bodies, then masks bodies and names; `mask` does both for one body."""

    def __init__(self, serials: Iterable[str] = (), secrets: Iterable[str] = ()):
        self.serials = Placeholders(serial_placeholder)
        self.emails = Placeholders(lambda _, n: f"user{n}@example.com")
        self.names = Placeholders(lambda _, n: f"name-{n}")
        self.macs = Placeholders(lambda _, n: f"02:00:00:00:{n >> 8 & 255:02X}:{n & 255:02X}")
        self.addresses = Placeholders(lambda _, n: f"192.0.2.{n % 254 or 254}")
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        for serial in serials:
            self.learn_serial(serial)

    def serial(self, original: str) -> str:
        """The placeholder of a serial (learnt if new)."""
        return self.serials.add(original.strip())

    def learn_serial(self, original: str) -> None:
        self.serials.learn(original.strip())

    def counts(self) -> dict[str, int]:
        """How many distinct values of each kind were masked: for the user to check."""
        kinds = (self.serials, self.emails, self.names, self.macs, self.addresses)
        labels = ("serials", "e-mail addresses", "names and addresses", "MAC addresses", "IP addresses")
        return {label: len(kind.known) for label, kind in zip(labels, kinds, strict=True) if kind.known}

    # --- learning ------------------------------------------------------------------------------

    def learn(self, body: bytes) -> None:
        text = _decode(body)
        try:
            self._walk(json.loads(text), "")
        except (ValueError, RecursionError):  # not JSON (the XML of /info, HTML): by its text
            for run in _SERIAL_RUN.findall(text):
                self.learn_serial(run)

    def _walk(self, node: object, key: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                self._learn_string(name)
                self._walk(value, re.sub(r"[^a-z0-9]", "", name.lower()))
        elif isinstance(node, list):
            for item in node:  # pv_serial_nb: a list of serials under one key
                self._walk(item, key)
        elif isinstance(node, (str, int)) and not isinstance(node, bool):
            self._learn_value(key, str(node))
            if isinstance(node, str):
                self._learn_string(node)

    def _learn_value(self, key: str, text: str) -> None:
        if (key in SERIAL_KEYS or "serial" in key) and _looks_like_serial(text):
            self.learn_serial(text)
        elif key in NAME_KEYS and text.strip():
            self.names.learn(text)
        elif key in ADDRESS_KEYS and _is_public_address(text):
            self.addresses.learn(text)

    def _learn_string(self, text: str) -> None:
        for run in _SERIAL_RUN.findall(text):
            self.learn_serial(run)

    # --- masking -------------------------------------------------------------------------------

    def mask(self, body: bytes) -> bytes:
        """`body` with everything of the module's list masked (learnt from it first)."""
        self.learn(body)
        text = redact(_decode(body), self._secrets)
        text = self.name(text)
        text = _EMAIL.sub(lambda m: self.emails.add(m.group().lower()), text)
        text = _MAC.sub(lambda m: self.macs.add(m.group().upper().replace("-", ":")), text)
        for kind in (self.names, self.addresses):
            text = _replace_quoted(text, kind)
        text = _JSON_COORDINATE.sub(lambda m: f"{m.group(1)}{m.group(2)}0{m.group(2)}", text)
        text = _XML_COORDINATE.sub(lambda m: f"{m.group(1)}0{m.group(3)}", text)
        text = _GEO_LIST.sub(lambda m: m.group(1) + re.sub(_NUMBER, "0", m.group(2)), text)
        return text.encode("utf-8", "surrogateescape")

    def name(self, text: str) -> str:
        """`text` (a file name, a path, a body) with every known serial replaced, wherever it stands."""
        known = self.serials.known
        if not known:
            return text
        alternatives = "|".join(re.escape(s) for s in sorted(known, key=len, reverse=True))
        pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
        return pattern.sub(lambda m: known[m.group()], text)


def _decode(body: bytes) -> str:
    # Byte for byte back: bytes that are not UTF-8 (an ISO-8859 body) survive the round trip.
    return body.decode("utf-8", "surrogateescape")


def _looks_like_serial(text: str) -> bool:
    if not _SERIAL_SHAPE.fullmatch(text):
        return False
    digits = sum(c.isdigit() for c in text)
    return digits >= MIN_SERIAL_DIGITS if text.isdigit() else digits > 0 and any(c.isalpha() for c in text)


def _is_public_address(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.strip()).is_global
    except ValueError:
        return False


def _replace_quoted(text: str, kind: Placeholders) -> str:
    """Each known value where it stands as a whole JSON string or XML text, by its placeholder."""
    forms: dict[str, str] = {}
    for original, placeholder in kind.known.items():
        for ascii_only in (False, True):
            forms[json.dumps(original, ensure_ascii=ascii_only)[1:-1]] = placeholder
    if not forms:
        return text
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    pattern = re.compile(f'(")({alternatives})(")|(>)({alternatives})(<)')
    return pattern.sub(lambda m: _wrapped(m, forms), text)


def _wrapped(match: re.Match[str], forms: dict[str, str]) -> str:
    opening, value, closing = match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
    return f"{opening}{forms[value]}{closing}"
