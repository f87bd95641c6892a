"""Every registry parser, and the builders after it, over any JSON-ish input (hypothesis).

Properties: a parser gives a frozen reading of its registered type, or EnvoyDataError, never
another exception; a gateway whose bodies were damaged gives a state or EnvoyDataError; and
every number published is finite, never a boolean, an int where the builder declares an int,
and the documents are strict JSON.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import pkgutil
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bridge.model.builders as builders
from bridge.errors import EnvoyDataError
from bridge.model import ENDPOINTS, build_state, live_document
from bridge.model.endpoints import REGISTRY
from tests.property.strategies import JSONISH, SEEDS, SETTINGS, damaged

pytestmark = pytest.mark.property
POLLED_AT = 1_700_000_000.0
BY_PATH = {endpoint.path: endpoint for endpoint in REGISTRY}


def _declared_types() -> dict[str, str]:
    """Field name -> "int" or "float", from the builders' document classes ("float" wins a tie:
    an int is a float's value too)."""
    found: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(builders.__path__):
        module = importlib.import_module(f"{builders.__name__}.{module_info.name}")
        classes = [obj for obj in vars(module).values() if isinstance(obj, type) and dataclasses.is_dataclass(obj)]
        for fld in (fld for cls in classes for fld in dataclasses.fields(cls)):
            kind = str(fld.type).removesuffix(" | None")
            if kind in ("int", "float"):
                found[fld.name] = "float" if found.get(fld.name) == "float" else kind
    return found


DECLARED = _declared_types()


def check_reading(endpoint: str, doc: object) -> object | None:
    try:
        reading = ENDPOINTS[endpoint](doc)
    except EnvoyDataError:
        return None
    assert isinstance(reading, BY_PATH[endpoint].result)
    assert dataclasses.is_dataclass(reading) and type(reading).__dataclass_params__.frozen  # type: ignore[attr-defined]
    return reading


def numbers(node: object, path: tuple = ()) -> typing.Iterator[tuple[tuple, object]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from numbers(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from numbers(child, (*path, index))
    elif isinstance(node, (int, float)):
        yield path, node


def check_published(document: dict) -> None:
    json.dumps(document, allow_nan=False)  # strict JSON, or this raises
    for path, value in numbers(document):
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        assert not isinstance(value, bool) or key not in DECLARED, (path, value)
        if isinstance(value, bool):
            continue
        assert math.isfinite(value), (path, value)
        if DECLARED.get(key) == "int":
            assert isinstance(value, int), (path, value)


@SETTINGS
@given(endpoint=st.sampled_from(sorted(ENDPOINTS)), doc=JSONISH)
def test_any_document_gives_a_frozen_reading_or_a_data_error(endpoint, doc):
    check_reading(endpoint, doc)


@st.composite
def damaged_gateway(draw):
    seed = draw(st.sampled_from(SEEDS))
    endpoint = draw(st.sampled_from(sorted(seed.bodies)))
    return seed, endpoint, draw(damaged(seed.bodies[endpoint]))


@SETTINGS
@given(damaged_gateway())
def test_a_damaged_body_never_escapes_as_another_error_nor_publishes_a_bad_number(case):
    seed, endpoint, doc = case
    parsed = {}
    for path, body in seed.bodies.items():
        reading = check_reading(path, doc if path == endpoint else body)
        if reading is not None:
            parsed[path] = reading
    live = live_document(parsed, POLLED_AT)
    if live is not None:
        check_published(live.as_payload())
    try:
        state = build_state(seed.info, parsed, POLLED_AT)
    except EnvoyDataError:
        return
    check_published(state.as_payload())
    for document in state.device_payloads().values():
        check_published(document)


def test_the_seeds_cover_every_endpoint_of_the_registry():
    covered = {endpoint for seed in SEEDS for endpoint in seed.bodies}
    assert covered == set(ENDPOINTS), set(ENDPOINTS) - covered


def test_the_declared_types_are_found():
    assert DECLARED["energy_lifetime_wh"] == "int" and DECLARED["power_w"] == "int"
    assert DECLARED["voltage_v"] == "float"
