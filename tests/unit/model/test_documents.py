"""The document bases of builders/payload.py: every unit document takes its topic from the table
of unit kinds and its payload from its fields, written once for all of them."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from bridge.model import kinds
from bridge.model.builders.batteries import AcbAggregate, Battery
from bridge.model.builders.ensemble_units import Combiner, CombinerMeter, MeterCollar, SystemController, unit_fields
from bridge.model.builders.generator import Generator
from bridge.model.builders.inverters import Inverter
from bridge.model.builders.payload import Document, SerialDocument, UnitDocument, phase_payloads
from bridge.model.builders.relays import Relay
from bridge.model.parse.ensemble import Unit


def subclasses(cls: type) -> set[type]:
    """The subclasses their modules define (a slots dataclass leaves its first class object behind)."""
    found = {sub for sub in cls.__subclasses__() if getattr(sys.modules[sub.__module__], sub.__name__) is sub}
    return found | {sub for child in found for sub in subclasses(child)}


UNIT_DOCUMENTS = sorted(subclasses(UnitDocument) - {SerialDocument}, key=lambda cls: cls.__name__)


def test_every_kind_of_the_table_has_exactly_one_document_class():
    assert sorted(cls.kind.stem for cls in UNIT_DOCUMENTS) == sorted(kinds.KINDS)
    assert all(kinds.KINDS[cls.kind.stem] is cls.kind for cls in UNIT_DOCUMENTS)


@pytest.mark.parametrize("cls", UNIT_DOCUMENTS, ids=lambda cls: cls.__name__)
def test_unit_documents_stay_frozen_slotted_dataclasses(cls):
    assert dataclasses.is_dataclass(cls) and "__dict__" not in dir(cls)
    assert cls.__dataclass_params__.frozen
    document = cls(**{f.name: "x" for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(document, dataclasses.fields(cls)[0].name, "changed")


@pytest.mark.parametrize(
    "document, suffix",
    [
        (Inverter("482243033113"), "inverter/482243033113"),
        (Battery("122301000001"), "battery/122301000001"),
        (SystemController("482300000001"), "enpower/482300000001"),
        (MeterCollar("482300000002"), "collar/482300000002"),
        (Combiner("482300000003"), "c6_combiner/482300000003"),
        (CombinerMeter("482300000004"), "c6_rgm/482300000004"),
        (Relay("NC1"), "relay/NC1"),  # a relay is known by its id, not a serial
        (Generator(), "generator"),  # one per gateway: the stem alone
    ],
)
def test_the_topic_comes_from_the_kind_and_the_unit_id(document, suffix):
    assert document.suffix == suffix == document.kind.topic_suffix(document.unit_id)


def test_payload_keeps_field_order_and_leaves_out_only_none():
    battery = Battery("122301000001", soc_pct=0, power_w=-5, dc_switch_off=False, admin_state="", firmware=None)
    assert battery.as_payload() == {
        "serial": "122301000001",
        "soc_pct": 0,
        "power_w": -5,
        "dc_switch_off": False,
        "admin_state": "",
    }
    assert list(battery.as_payload()) == ["serial", "soc_pct", "power_w", "dc_switch_off", "admin_state"]


def test_serial_is_the_first_field_of_every_serial_document():
    for cls in subclasses(SerialDocument):
        assert dataclasses.fields(cls)[0].name == "serial", cls.__name__


def test_a_section_document_has_a_payload_and_no_topic():
    assert isinstance(AcbAggregate(power_w=1), Document) and not isinstance(AcbAggregate(), UnitDocument)
    assert AcbAggregate(power_w=1, count=2).as_payload() == {"power_w": 1, "count": 2}
    assert AcbAggregate().as_payload() == {}


def test_phase_payloads_leave_out_unused_phases():
    phases = (("l1", AcbAggregate(power_w=1)), ("l2", AcbAggregate()), ("l3", AcbAggregate(power_w=0)))
    assert phase_payloads(phases) == {"l1": {"power_w": 1}, "l3": {"power_w": 0}}
    assert phase_payloads((("l1", AcbAggregate()),)) == {}


def test_unit_fields_are_published_under_the_same_names_by_every_ensemble_document():
    unit = Unit("482300000001", "800-00555-r03", "1.2.3", "ENPWR_STATE_OPER_CLOSED", True, 1_700_000_000)
    fields = unit_fields(unit)
    assert fields == {
        "admin_state": "ENPWR_STATE_OPER_CLOSED",
        "communicating": True,
        "last_report": 1_700_000_000,
        "firmware": "1.2.3",
        "part_number": "800-00555-r03",
    }
    for cls in (Battery, SystemController, MeterCollar, Combiner):
        assert cls("482300000001", **fields).as_payload() == {"serial": "482300000001", **fields}
