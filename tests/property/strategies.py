"""What the property tests draw from: JSON-ish values, and real-shaped gateway bodies to damage.

The seeds are whole gateways (endpoint -> decoded body, and the /info of the same gateway):
the simulator's three living scenarios and the project's own bodies always, the real captures
of ../shared/fixtures/envoy when they are there. Damaging a real shape reaches the parsers'
and builders' deep branches, which a random document never gets past the first key of.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bridge.errors import EnvoyDataError
from bridge.model import ENDPOINTS, GatewayInfo, decode_json, parse_info
from bridge.simulator import Simulator
from tests.support.captures import capture_names, endpoint_files

BODIES = Path(__file__).resolve().parents[1] / "fixtures" / "bodies"
SCENARIOS = ("metered", "standard", "three_phase_battery", "ac_battery")
PROJECT_INFO = GatewayInfo("123456789012", "8.2.4382", "800-00654-r08", True, True)

# The layer's budget: every test here together in well under a minute on CI's two busy cores
# (PROPERTY_EXAMPLES=5000 for a deep hunt by hand). No deadline: a busy machine is not a bug.
# No example database: nothing is written into the work tree.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Seed:
    name: str
    info: GatewayInfo
    bodies: dict[str, object]  # endpoint -> decoded body


def _living(scenario: str) -> Seed:
    source = Simulator(scenario=scenario).source
    bodies = {}
    for endpoint in ENDPOINTS:
        path, _, query = endpoint.partition("?")
        status, _, body = source.answer(path, query)
        if status == 200:
            bodies[endpoint] = decode_json(endpoint, body)
    return Seed(f"scenario {scenario}", parse_info(source.answer("/info", "")[2]), bodies)


def _project_bodies() -> Seed:
    """tests/fixtures/bodies, each with the endpoint its README names."""
    bodies = {}
    for line in (BODIES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) < 4 or not cells[1].strip().startswith("`"):
            continue
        files, endpoints = re.findall(r"`([^`]+)`", cells[1]), re.findall(r"`([^`]+)`", cells[2])
        for name, endpoint in zip(files, endpoints, strict=True):
            if endpoint in ENDPOINTS and (BODIES / name).is_file():
                bodies[endpoint] = decode_json(endpoint, (BODIES / name).read_bytes())
    return Seed("project bodies", PROJECT_INFO, bodies)


def _capture(name: str) -> Seed:
    from tests.support.captures import CAPTURES

    folder = CAPTURES / name
    bodies = {}
    for endpoint in ENDPOINTS:
        found = next((folder / f for f in endpoint_files(endpoint) if (folder / f).is_file()), None)
        if found is None:
            continue
        try:
            bodies[endpoint] = decode_json(endpoint, found.read_bytes())
        except EnvoyDataError:
            continue  # an HTML page or an error answer: not a shape to damage
    return Seed(f"capture {name}", parse_info((folder / "info").read_bytes()), bodies)


SEEDS = [_living(s) for s in SCENARIOS] + [_project_bodies()] + [_capture(n) for n in capture_names()]
KEY_NAMES = sorted(
    {key for seed in SEEDS for body in seed.bodies.values() for key in re.findall(r"'(\w+)':", repr(body))}
)

# Every kind of JSON leaf, and the non-JSON values a hand-made document may hold (nan, inf,
# integers no float can hold); strings that look like numbers or booleans.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, -1, 2**31, 2**32, 2**63, 10**308, 10**400, -(10**400)]),
    st.floats(),
    st.sampled_from([1e308, -1e308, 5e-324, float("nan"), float("inf")]),
    st.text(max_size=12),
    st.sampled_from(["", "0", "12", "-3", "1e309", "true", "false", "null", "NaN", "close", "open"]),
)
KEYS = st.one_of(st.sampled_from(KEY_NAMES), st.text(max_size=8))
JSONISH = st.recursive(
    LEAVES, lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4), max_leaves=16
)


def _places(node, path=()):
    """Every (path, node) of a document: the root, each object member and each list item."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _places(child, (*path, key))


def _at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def damaged(draw, doc: object, max_changes: int = 4) -> object:
    """A copy of `doc` with a few changes: a value replaced, a member or item deleted, a member added."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(min_value=1, max_value=max_changes))):
        path, node = draw(st.sampled_from(list(_places(doc))))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if action == "replace":
                doc = draw(JSONISH)
            continue
        parent, key = _at(doc, path[:-1]), path[-1]
        if action == "replace":
            parent[key] = draw(JSONISH)
        elif action == "delete":
            del parent[key]
        elif isinstance(node, dict):
            node[draw(KEYS)] = draw(JSONISH)
    return doc
