"""Mutation test: damage real captures one spot at a time; the model must answer with a valid
snapshot or an EnvoyDataError, and never let another exception escape."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from bridge.errors import EnvoyDataError
from bridge.model import ENDPOINTS, GatewayInfo, build_state, decode_json, select_endpoints
from tests.support.captures import POLLED_AT, SKIP_REASON, capture_names, load_capture

CAPTURES = [
    "7.6.175_with_cts_3phase",
    "8.3.1598_collar",
    "8.2.127_with_3cts_and_battery_split",
    "8.2.4264_metered_noct",
    "5.0.62",
    "8.3.5169_ACB_inventory",
    "8.2.4382_ACB",
    "8.2.4345_with_device_data",
]
# The project's own bodies for what no capture has (a generator, named relays, sleeping ACBs).
BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
DEVICE_BODIES = {
    "/ivp/ensemble/inventory": "inventory_enpower_open.json",
    "/ivp/ensemble/power": "ensemble_power_two_batteries.json",
    "/ivp/ensemble/secctrl": "secctrl_acb_and_iq.json",
    "/production.json?details=1": "production_acb_storage.json",
    "/ivp/pdm/device_data": "device_data_inverters.json",
    "/inventory.json?deleted=1": "inventory_acb.json",
    "/admin/lib/tariff": "tariff_savings_mode.json",
    "/ivp/ensemble/dry_contacts": "dry_contacts_status.json",
    "/ivp/ss/dry_contact_settings": "dry_contacts_settings.json",
    "/ivp/ss/gen_config": "gen_config_standby.json",
    "/ivp/ensemble/generator": "generator_running.json",
    "/ivp/ss/gen_mode": "gen_mode_auto.json",
}
LEAF_VALUES = [None, "x", [], True, float("inf"), -1, 10**400]
NODE_VALUES = [None, "x", {}, []]  # containers are replaced too, not only leaves
DELETED = object()


def locations(node, path=()):
    """Every (container, key) pair in a decoded document, depth first."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, child in items:
        yield node, key, isinstance(child, (dict, list))
        yield from locations(child, (*path, key))


def mutate(container, key, value):
    """Apply one mutation in place; returns a function that undoes it."""
    original = container[key]
    if value is DELETED:
        if isinstance(container, dict):
            del container[key]
            return lambda: container.__setitem__(key, original)
        container.pop(key)
        return lambda: container.insert(key, original)
    container[key] = value
    return lambda: container.__setitem__(key, original)


def check_outcome(capture, endpoint, doc):
    try:
        result = ENDPOINTS[endpoint](doc)
    except EnvoyDataError:
        return "refused"
    probed = {**capture.probed, endpoint: result}
    selected = select_endpoints(capture.info, probed)
    try:
        state = build_state(capture.info, {ep: probed[ep] for ep in selected}, POLLED_AT)
    except EnvoyDataError:
        return "no state"
    for payload in (state.as_payload(), *state.device_payloads().values()):
        text = json.dumps(payload, allow_nan=False)
        assert "null" not in text and "{}" not in text
    assert state.grid_status in (None, "on_grid", "off_grid")
    return "state"


def damage_everywhere(gateway, endpoint, doc, label, outcomes):
    """Every mutation of `doc`, one at a time, as `endpoint`'s answer for `gateway`: each outcome
    counted in `outcomes`; any other exception fails the test, named by `label` and the spot."""
    for container, key, is_node in list(locations(doc)):
        for value in [DELETED, *(NODE_VALUES if is_node else LEAF_VALUES)]:
            undo = mutate(container, key, value)
            try:
                outcome = check_outcome(gateway, endpoint, doc)
            except Exception as err:
                pytest.fail(f"{label} {key!r} := {value!r}: {type(err).__name__}: {err}")
            finally:
                undo()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1


@pytest.mark.parametrize(
    "name", CAPTURES if capture_names() else [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]
)
def test_damaged_captures_give_a_state_or_a_data_error(name):
    capture = load_capture(name)
    outcomes: dict[str, int] = {}
    for endpoint, body in capture.bodies.items():
        if endpoint in capture.refused:
            continue
        damage_everywhere(capture, endpoint, decode_json(endpoint, body), f"{name} {endpoint}", outcomes)
    assert outcomes.get("state") and outcomes.get("refused")  # both paths were exercised


def test_damaged_device_bodies_give_a_state_or_a_data_error():
    docs = {ep: decode_json(name, (BODIES / name).read_bytes()) for ep, name in DEVICE_BODIES.items()}
    info = GatewayInfo("123456789012", "8.2.4382", None, False, True)
    gateway = SimpleNamespace(info=info, probed={ep: ENDPOINTS[ep](doc) for ep, doc in docs.items()})
    outcomes: dict[str, int] = {}
    for endpoint, doc in docs.items():
        damage_everywhere(gateway, endpoint, doc, endpoint, outcomes)
    assert outcomes.get("state") and outcomes.get("refused")


def test_non_finite_values_never_get_through_decode():
    if not capture_names():
        pytest.skip(SKIP_REASON)
    capture = load_capture("8.3.1598_collar")
    for endpoint, body in capture.bodies.items():
        doc = decode_json(endpoint, body)
        for container, key, is_node in list(locations(doc)):
            if is_node:
                continue
            undo = mutate(container, key, math.inf)
            text = json.dumps(doc)  # writes Infinity, which no real JSON parser should accept
            undo()
            with pytest.raises(EnvoyDataError, match="non-finite"):
                decode_json(endpoint, text.encode())
            break  # one per endpoint is enough: the decoder does not care where it sits
