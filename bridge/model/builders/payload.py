"""Helpers every builder uses: numbers as published, the document bases, safe topic ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

from bridge.model.kinds import UnitKind
from bridge.model.parse.codec import is_finite_number

# A JSON object as published: json.dumps takes it as it is.
Payload = dict[str, Any]


def plain(value: float | None, digits: int = 3) -> int | float | None:
    """A setting or reading as the gateway meant it: 20.0 is 20, 12.5 stays 12.5."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, digits) + 0.0


def to_int(value: float | None) -> int | None:
    """Round half to even, exactly as pyenphase's round() does, so numbers match HA's."""
    return round(value) if is_finite_number(value) else None


class Publishable(Protocol):
    def as_payload(self) -> Payload: ...


@dataclass(frozen=True, slots=True)
class Document:
    """A published document as a frozen dataclass: its fields in order, "not reported" (None)
    left out. A base, so every document's payload follows that one rule."""

    def as_payload(self) -> Payload:
        return {name: value for name in field_names(type(self)) if (value := getattr(self, name)) is not None}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, in order: `dataclasses.fields` rebuilds them on every call,
    and a cycle asks thousands of times."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class UnitDocument(Document):
    """A unit's own retained document: its topic comes from the table of unit kinds, so a
    kind's stem is written once (`bridge.model.kinds`), never again in a builder. Its id is
    checked once for all kinds, by `builders.devices.addressable`."""

    kind: ClassVar[UnitKind]

    @property
    def unit_id(self) -> str:
        """The topic level below the stem; "" for a kind with one document per gateway."""
        return ""

    @property
    def suffix(self) -> str:
        return self.kind.topic_suffix(self.unit_id)


@dataclass(frozen=True, slots=True)
class SerialDocument(UnitDocument):
    """A unit known by its own serial: the first field of its document and its topic id."""

    serial: str

    @property
    def unit_id(self) -> str:
        return self.serial


def phase_payloads(phases: Iterable[tuple[str, Publishable]]) -> Payload:
    """The phases' documents by name; an unused phase (nothing reported) is left out."""
    return {name: body for name, values in phases if (body := values.as_payload())}
