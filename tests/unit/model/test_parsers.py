"""The endpoint parsers: frozen results, strict types, None for "not reported", EnvoyDataError for the rest."""

import dataclasses

import pytest

from bridge.errors import EnvoyDataError, EnvoyErrorDocument
from bridge.model import CANDIDATE_ENDPOINTS, ENDPOINTS, GatewayInfo, select_endpoints

PJ, PROD, V1 = "/production.json?details=1", "/production", "/api/v1/production"
METERS, READINGS = "/ivp/meters", "/ivp/meters/readings"
INFO = GatewayInfo("123456789012", "7.6.175", "800-00654-r08", True, True)

EIM = {
    "type": "eim",
    "activeCount": 1,
    "measurementType": "production",
    "wNow": 10.5,
    "whLifetime": 100.0,
    "whToday": 5.0,
    "whLastSevenDays": 50.0,
    "readingTime": 1700000000,
}
METER = {
    "eid": 704643328,
    "state": "enabled",
    "measurementType": "production",
    "phaseMode": "single",
    "phaseCount": 1,
    "meteringStatus": "normal",
    "statusFlags": [],
}
READING = {
    "eid": 704643328,
    "timestamp": 1700000000,
    "activePower": 10.0,
    "voltage": 230.0,
    "current": 0.1,
    "freq": 50.0,
    "pwrFactor": 1.0,
    "actEnergyDlvd": 100.0,
    "actEnergyRcvd": 1.0,
    "channels": [],
}
V1_DOC = {"wattHoursToday": 1, "wattHoursSevenDays": 2, "wattHoursLifetime": 3, "wattsNow": 4}


def test_every_candidate_has_a_parser():
    assert set(CANDIDATE_ENDPOINTS) == set(ENDPOINTS)
    assert CANDIDATE_ENDPOINTS[:2] == (METERS, READINGS)  # meters first: they steer the rest


@pytest.mark.parametrize(
    "endpoint, doc",
    [
        (PJ, {"production": [EIM]}),
        (PROD, {"production": [EIM]}),
        (V1, V1_DOC),
        (METERS, [METER]),
        (READINGS, [READING]),
        ("/ivp/ensemble/inventory", []),
        ("/ivp/ensemble/relay", {"mains_oper_state": "closed"}),
    ],
)
def test_results_are_frozen_dataclasses(endpoint, doc):
    result = ENDPOINTS[endpoint](doc)
    assert dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, dataclasses.fields(result)[0].name, None)


@pytest.mark.parametrize("value", [True, False, "10.5", [], {}, float("inf"), float("nan"), 10**400])
def test_bool_string_and_non_finite_are_never_numbers(value):
    with pytest.raises(EnvoyDataError, match="wNow"):
        ENDPOINTS[PJ]({"production": [{**EIM, "wNow": value}]})
    with pytest.raises(EnvoyDataError, match="activePower"):
        ENDPOINTS[READINGS]([{**READING, "activePower": value}])
    with pytest.raises(EnvoyDataError, match="wattsNow"):
        ENDPOINTS[V1]({**V1_DOC, "wattsNow": value})


def test_missing_or_null_numbers_are_not_reported_never_zero():
    report = ENDPOINTS[PJ]({"production": [{**EIM, "wNow": None, "whToday": None} | {"whLastSevenDays": None}]})
    totals = report.eim_production().totals
    assert (totals.w_now, totals.wh_today, totals.wh_last_7_days, totals.wh_lifetime) == (None, None, None, 100.0)
    reading = ENDPOINTS[READINGS]([{k: v for k, v in READING.items() if k != "voltage"}]).readings[0]
    assert reading.totals.voltage is None


@pytest.mark.parametrize(
    "field, value", [("activeCount", -1), ("activeCount", 1.5), ("activeCount", True), ("type", 3), ("lines", {})]
)
def test_report_entry_wrong_types(field, value):
    with pytest.raises(EnvoyDataError, match=field):
        ENDPOINTS[PJ]({"production": [{**EIM, field: value}]})


@pytest.mark.parametrize(
    "doc", [[], "x", {}, {"foo": 1}, {"production": "x"}, {"production": [1]}, {"production": [{}]}]
)
def test_report_wrong_shapes(doc):
    with pytest.raises(EnvoyDataError):
        ENDPOINTS[PJ](doc)


@pytest.mark.parametrize("endpoint", [METERS, READINGS, "/ivp/ensemble/inventory", "/ivp/ensemble/relay", PJ, V1])
def test_error_documents_are_their_own_data_error(endpoint):
    with pytest.raises(EnvoyErrorDocument, match="error document"):
        ENDPOINTS[endpoint]({"error": "404 - Not Found"})


@pytest.mark.parametrize("eid", [None, True, 1.5, "", []])
def test_meter_eid_must_be_an_identifier(eid):
    with pytest.raises(EnvoyDataError, match="eid"):
        ENDPOINTS[METERS]([{**METER, "eid": eid}])
    with pytest.raises(EnvoyDataError, match="eid"):
        ENDPOINTS[READINGS]([{**READING, "eid": eid}])


def test_meter_eids_match_whether_numbers_or_strings():
    assert ENDPOINTS[METERS]([{**METER, "eid": "704643328"}]).meters[0].eid == "704643328"
    assert ENDPOINTS[READINGS]([READING]).readings[0].eid == "704643328"


def test_status_flags_are_optional_but_typed():
    assert ENDPOINTS[METERS]([{k: v for k, v in METER.items() if k != "statusFlags"}]).meters[0].status_flags is None
    with pytest.raises(EnvoyDataError, match="statusFlags"):
        ENDPOINTS[METERS]([{**METER, "statusFlags": [1]}])


def test_api_v1_without_any_known_field_is_an_error():
    with pytest.raises(EnvoyDataError):
        ENDPOINTS[V1]({"something": "else"})


# -- select_endpoints on hand-made probes ----------------------------------------------------


def probe(**docs):
    names = {"pj": PJ, "prod": PROD, "v1": V1, "meters": METERS, "readings": READINGS}
    return {names[key]: ENDPOINTS[names[key]](doc) for key, doc in docs.items()}


def test_no_meter_endpoints_when_meters_empty_or_all_disabled():
    assert select_endpoints(INFO, probe(meters=[], readings=[READING], v1=V1_DOC)) == {V1}
    disabled = probe(meters=[{**METER, "state": "disabled"}], readings=[READING], v1=V1_DOC)
    assert select_endpoints(INFO, disabled) == {V1}


def test_meter_endpoints_with_an_enabled_ct():
    assert select_endpoints(INFO, probe(meters=[METER], readings=[READING])) == {METERS, READINGS}
    assert select_endpoints(INFO, probe(meters=[METER])) == {METERS}  # readings did not answer


def test_no_api_v1_when_production_json_eim_is_active():
    assert select_endpoints(INFO, probe(pj={"production": [EIM]}, prod={"production": [EIM]}, v1=V1_DOC)) == {PJ}


def test_slow_production_endpoint_only_as_last_resort():
    inverters = {"type": "inverters", "activeCount": 3, "wNow": 100, "whLifetime": 1000}
    assert select_endpoints(INFO, probe(prod={"production": [EIM]}, v1=V1_DOC)) == {PROD}
    assert select_endpoints(INFO, probe(pj={"production": [inverters]}, prod={"production": [inverters]})) == {PJ}
    assert select_endpoints(INFO, probe(prod={"production": [inverters]})) == {PROD}


def test_production_ct_keeps_production_json_through_an_inactive_eim():
    inactive = {"production": [{**EIM, "activeCount": 0}]}
    assert select_endpoints(INFO, probe(pj=inactive, v1=V1_DOC, meters=[METER], readings=[READING])) == {
        PJ,
        METERS,
        READINGS,
    }
    assert select_endpoints(INFO, probe(pj=inactive, v1=V1_DOC)) == {V1}


def test_nothing_answered_selects_nothing():
    assert select_endpoints(INFO, {}) == set()
    assert select_endpoints(INFO, {PJ: "not a parsed result", METERS: None}) == set()


def test_more_channels_and_phases_than_three_are_capped_at_l3():
    from bridge.model import build_state

    meters = [{**METER, "phaseMode": "three", "phaseCount": 4}]
    channel = {k: v for k, v in READING.items() if k != "channels"}
    parsed = {
        METERS: ENDPOINTS[METERS](meters),
        READINGS: ENDPOINTS[READINGS]([{**READING, "channels": [channel] * 5}]),
    }
    phases = build_state(INFO, parsed, 1.0).as_payload()["meters"]["production"]["phases"]
    assert sorted(phases) == ["l1", "l2", "l3"]


def test_all_zero_api_v1_is_still_polled_when_nothing_else_gives_production():
    zeros = {"wattHoursToday": 0, "wattHoursSevenDays": 0, "wattHoursLifetime": 0, "wattsNow": 0}
    booting = GatewayInfo("123456789012", "3.9.36", None, False, False)
    assert select_endpoints(booting, probe(v1=zeros)) == {V1}  # firmware 3 after boot: numbers will come
    inverters = {"production": [{"type": "inverters", "activeCount": 3, "wNow": 100, "whLifetime": 1000}]}
    assert select_endpoints(INFO, probe(v1=zeros, pj=inverters)) == {PJ}  # metered without CTs
