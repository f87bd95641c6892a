"""The table of unit kinds: every document the model publishes has its kind, and the poll
group of each topic is the one the worker always gave it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError
from bridge.gateway.schedule import GROUPS
from bridge.homeassistant.devices import KIND_ENTITIES
from bridge.model import kinds, poll_group_of
from tests.support.captures import SKIP_REASON, capture_names, load_capture
from tests.unit.model.test_devices import (
    DEVICE_DATA,
    DEVICE_INVENTORY,
    DRY,
    DRY_SETTINGS,
    INVERTERS,
    battery_docs,
    body,
    devices,
    generator_docs,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
NAMES = capture_names() or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]


def old_rule(topic_suffix: str) -> str:
    """The worker's `expire_after` rule before the table existed."""
    kind = topic_suffix.split("/", 1)[0]
    return "inverters" if kind == "inverter" else "meters" if kind in ("state", "diagnostics") else "batteries"


def golden_suffixes() -> set[str]:
    """Every topic below `{base}/{serial}/` in the golden files: published ones and state topics."""
    found = set()
    for path in GOLDEN.glob("*/mqtt.txt"):
        topics = (line.split(" ", 1)[0] for line in path.read_text().splitlines() if line.startswith("envoy/"))
        found |= {topic.split("/", 2)[2] for topic in topics}
    for path in GOLDEN.glob("*/discovery.txt"):
        configs = (json.loads(line.split(" ", 1)[1]) for line in path.read_text().splitlines() if "/config " in line)
        found |= {config["state_topic"].split("/", 2)[2] for config in configs if "state_topic" in config}
    return found


def test_poll_group_of_reproduces_the_old_rule_for_every_golden_topic():
    suffixes = golden_suffixes()
    assert {"state", "diagnostics", "grid/status", "availability"} <= suffixes
    assert {s.split("/")[0] for s in suffixes} >= {"inverter", "battery", "acb", "enpower", "relay", "collar"}
    for suffix in suffixes:
        assert poll_group_of(suffix) == old_rule(suffix), suffix
    for suffix in ("generator", "relay/NC1", "c6_rgm/1", "something_new/1"):
        assert poll_group_of(suffix) == old_rule(suffix), suffix


@pytest.mark.parametrize("name", NAMES)
def test_every_unit_document_of_every_capture_has_its_kind(name):
    try:
        documents = load_capture(name).state().device_payloads()
    except EnvoyDataError as err:
        pytest.skip(f"no snapshot from this capture (see test_captures.py): {err}")
    assert {suffix for suffix in documents if not has_its_kind(suffix)} == set()


def has_its_kind(suffix: str) -> bool:
    stem, _, ident = suffix.partition("/")
    return stem in kinds.KINDS and kinds.KINDS[stem].topic_suffix(ident) == suffix


def test_every_kind_the_model_builds_is_in_the_table():
    docs = battery_docs() | generator_docs()
    docs |= {DRY: body("dry_contacts_status.json"), DRY_SETTINGS: body("dry_contacts_settings.json")}
    docs |= {INVERTERS: body("inverters_v1_with_acb.json"), DEVICE_INVENTORY: body("inventory_acb.json")}
    docs[DEVICE_DATA] = body("device_data_inverters.json")
    suffixes = set(devices(docs)) | set(devices({"/ivp/ensemble/inventory": body("inventory_collar_off_grid.json")}))
    assert {s.partition("/")[0] for s in suffixes} >= {"inverter", "battery", "acb", "enpower", "relay", "collar"}
    assert all(has_its_kind(suffix) for suffix in suffixes), suffixes
    assert "generator" in suffixes  # one per gateway: no id level


def test_each_kind_has_its_home_assistant_entities_and_a_poll_group():
    assert set(KIND_ENTITIES) == set(kinds.KINDS)
    for stem, kind in kinds.KINDS.items():
        assert kind.stem == stem and kind.name and kind.model and kind.identifier
        assert kind.poll_group in GROUPS
    assert [k.stem for k in kinds.KINDS.values() if not k.by_serial] == ["relay", "generator"]
