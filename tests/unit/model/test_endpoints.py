"""The endpoint registry: one entry per endpoint, and every table the poller reads derived from it."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from bridge.errors import EnvoyDataError
from bridge.gateway.schedule import GROUPS
from bridge.model import CANDIDATE_ENDPOINTS, ENDPOINTS, POLL_GROUPS, endpoints
from bridge.model.assemble import readings_of
from bridge.model.endpoints import REGISTRY, Endpoint, parsed_result, production_reports
from bridge.model.parse.readings import Readings
from bridge.model.parse.relay import RelayState
from tests.support.captures import SKIP_REASON, capture_names, load_capture

NAMES = capture_names() or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]


def test_every_candidate_has_one_entry_and_a_parser():
    assert len(set(CANDIDATE_ENDPOINTS)) == len(CANDIDATE_ENDPOINTS) == len(REGISTRY)
    assert set(ENDPOINTS) == set(CANDIDATE_ENDPOINTS)
    assert all(callable(ENDPOINTS[path]) for path in CANDIDATE_ENDPOINTS)


def test_every_entry_of_the_module_is_in_the_registry():
    entries = [value for value in vars(endpoints).values() if isinstance(value, Endpoint)]
    assert sorted(e.path for e in entries) == sorted(CANDIDATE_ENDPOINTS)


def test_every_group_is_a_poll_group_of_the_schedule():
    assert set(POLL_GROUPS) == set(CANDIDATE_ENDPOINTS)
    assert set(POLL_GROUPS.values()) <= set(GROUPS)
    assert POLL_GROUPS["/ivp/pdm/device_data"] == POLL_GROUPS["/api/v1/production/inverters"] == "inverters"
    assert POLL_GROUPS["/ivp/ensemble/secctrl"] == POLL_GROUPS["/ivp/ensemble/power"] == "batteries"
    assert POLL_GROUPS["/admin/lib/tariff"] == POLL_GROUPS["/ivp/ss/gen_config"] == "info"
    assert [path for path, group in POLL_GROUPS.items() if group == "grid"] == ["/ivp/ensemble/relay"]


def test_probe_order_starts_with_the_meters_then_the_production_reports_best_first():
    assert CANDIDATE_ENDPOINTS[:2] == ("/ivp/meters", "/ivp/meters/readings")
    reports = ("/production.json?details=1", "/production", "/api/v1/production")
    assert CANDIDATE_ENDPOINTS[2:5] == reports


def test_the_derived_tables_agree_with_the_entries():
    assert tuple(entry.path for entry in REGISTRY) == CANDIDATE_ENDPOINTS
    assert {entry.path: entry.group for entry in REGISTRY} == POLL_GROUPS
    for entry in REGISTRY:
        assert ENDPOINTS[entry.path] == entry.parse


def test_each_entry_names_the_type_its_parser_returns_and_says_who_has_it_and_how_to_get_in():
    for entry in REGISTRY:
        assert typing.get_type_hints(entry.parser)["return"] is entry.result, entry.path
        assert entry.gateways.strip() and entry.auth.strip(), entry.path
        assert "token" in entry.auth and "digest" in entry.auth, entry.path  # firmware 7+ and older


def test_a_parser_error_names_the_endpoint_it_parsed():
    with pytest.raises(EnvoyDataError, match="/ivp/ensemble/relay"):
        ENDPOINTS["/ivp/ensemble/relay"]([])


def test_a_result_of_the_wrong_type_counts_as_absent():
    relay = RelayState("closed", "closed")
    assert parsed_result({"/ivp/ensemble/relay": relay}, endpoints.RELAY) is relay
    assert parsed_result({"/ivp/ensemble/relay": {"mains_oper_state": "closed"}}, endpoints.RELAY) is None
    assert parsed_result({"/ivp/ensemble/inventory": relay}, endpoints.INVENTORY) is None
    assert production_reports({"/production": relay}) == ()


@pytest.mark.parametrize("name", NAMES)
def test_every_capture_body_parses_into_its_registered_type(name):
    capture = load_capture(name)
    for path, result in capture.probed.items():
        assert isinstance(result, next(e.result for e in REGISTRY if e.path == path)), path


@pytest.mark.parametrize("name", NAMES)
def test_the_builders_get_every_reading_from_the_endpoint_of_its_type(name):
    probed = load_capture(name).probed
    readings = readings_of(probed)
    by_type = {entry.result: entry.path for entry in REGISTRY}
    for field in dataclasses.fields(Readings):
        value = getattr(readings, field.name)
        if field.name == "reports":
            assert value == tuple(report for _, report in production_reports(probed))
        elif value is not None:
            assert value is probed[by_type[type(value)]], field.name
    singles = [f.name for f in dataclasses.fields(Readings) if f.name != "reports"]
    reports = {path for path, _ in production_reports(probed)}
    assert sum(getattr(readings, name) is not None for name in singles) == len(set(probed) - reports)
