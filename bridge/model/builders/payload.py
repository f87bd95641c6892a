"""Helpers every builder uses: numbers as published, dataclasses as payloads, safe topic ids."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeGuard

from bridge.model.parse.codec import is_finite_number

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A JSON object as published: json.dumps takes it as it is.
Payload = dict[str, Any]

# Serials and relay ids become MQTT topic levels and Home Assistant object ids, which allow
# only these characters; a device whose id has others cannot be addressed and is left out.
TOPIC_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def topic_safe(ident: str | None) -> TypeGuard[str]:
    return ident is not None and TOPIC_SAFE.match(ident) is not None


def plain(value: float | None, digits: int = 3) -> int | float | None:
    """A setting or reading as the gateway meant it: 20.0 is 20, 12.5 stays 12.5."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, digits) + 0.0


def to_int(value: float | None) -> int | None:
    """Round half to even, exactly as pyenphase's round() does, so numbers match HA's."""
    return round(value) if is_finite_number(value) else None


def payload_of(obj: DataclassInstance) -> Payload:
    """A frozen dataclass as a payload: its fields in order, "not reported" (None) left out."""
    return {field.name: value for field in fields(obj) if (value := getattr(obj, field.name)) is not None}
