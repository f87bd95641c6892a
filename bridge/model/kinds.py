"""The table of unit kinds: every kind of thing with its own retained document, in one place.

A unit's document lives on `{base}/{serial}/<stem>/<id>` (the generator, one per gateway, on
`{base}/{serial}/generator`). Its Home Assistant device takes its name, model and identifier
from here, and its entities' `expire_after` follows the poll group that refreshes it. Home
Assistant's entity lists stay in `bridge.homeassistant.devices`, keyed by the same stem.

Imports nothing: the model's builders, discovery and the worker all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitKind:
    stem: str  # the first topic level below `{base}/{serial}/`
    name: str  # Home Assistant device name, followed by the unit's id
    model: str  # Home Assistant device model
    identifier: str  # stem of the device identifier and of the entity ids
    poll_group: str  # the poll group whose endpoints refresh the document
    # True: the id is the unit's own serial, device `enphase_<identifier>_<serial>`. False: the
    # thing belongs to the gateway (relay ids, the generator), device `envoy_<gateway>_<identifier>...`.
    by_serial: bool = True

    def topic_suffix(self, ident: str = "") -> str:
        """The document's topic below `{base}/{serial}/`: `<stem>/<id>`, or `<stem>` alone."""
        return f"{self.stem}/{ident}" if ident else self.stem


INVERTER = UnitKind("inverter", "Inverter", "Inverter", "inverter", "inverters")
BATTERY = UnitKind("battery", "Encharge", "Encharge", "encharge", "batteries")  # IQ Battery
AC_BATTERY = UnitKind("acb", "AC Battery", "AC Battery", "ac_battery", "batteries")
SYSTEM_CONTROLLER = UnitKind("enpower", "Enpower", "Enpower", "enpower", "batteries")  # IQ System Controller
RELAY = UnitKind("relay", "Dry contact", "Dry contact relay", "relay", "batteries", by_serial=False)
GENERATOR = UnitKind("generator", "Generator", "Generator", "generator", "batteries", by_serial=False)
COLLAR = UnitKind("collar", "Collar", "IQ Meter Collar", "collar", "batteries")  # IQ Meter Collar
C6_COMBINER = UnitKind("c6_combiner", "C6 Combiner", "IQ Combiner 6C", "c6_combiner", "batteries")
C6_RGM = UnitKind("c6_rgm", "C6 RGM", "IQ Combiner 6C meter", "c6_rgm", "batteries")  # its revenue-grade meter

KINDS: dict[str, UnitKind] = {
    kind.stem: kind
    for kind in (INVERTER, BATTERY, AC_BATTERY, SYSTEM_CONTROLLER, RELAY, GENERATOR, COLLAR, C6_COMBINER, C6_RGM)
}

# The gateway's own documents (`state`, `diagnostics`) go out after every meters poll.
GATEWAY_DOCUMENTS_GROUP = "meters"
GATEWAY_DOCUMENTS = frozenset({"state", "diagnostics"})
# The live group's own document, `{base}/{serial}/live`, refreshed by every live read.
LIVE_DOCUMENT, LIVE_GROUP = "live", "live"
# Topics of no kind (`grid/status`) go with the slow units, as the worker's rule always had it.
DEFAULT_GROUP = "batteries"


def poll_group_of(topic_suffix: str) -> str:
    """The poll group that refreshes the document on `{base}/{serial}/<topic_suffix>`."""
    stem = topic_suffix.split("/", 1)[0]
    if stem in GATEWAY_DOCUMENTS:
        return GATEWAY_DOCUMENTS_GROUP
    if stem == LIVE_DOCUMENT:
        return LIVE_GROUP
    kind = KINDS.get(stem)
    return kind.poll_group if kind is not None else DEFAULT_GROUP
