"""bridge.model.reuse: an answer like the previous one is not parsed again; a changed or bad one is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError
from bridge.model.parse.meters import MeterReadings, MetersConfig
from bridge.model.reuse import LatestAnswers

SCENARIO = Path(__file__).resolve().parents[3] / "bridge/simulator/scenarios/metered"
READINGS = "/ivp/meters/readings"


def readings_body(power_w: float) -> bytes:
    doc = json.loads((SCENARIO / "ivp_meters_readings").read_bytes())
    doc[0]["activePower"] = power_w
    return json.dumps(doc).encode()


def test_the_same_bytes_give_the_same_reading_without_parsing_again():
    answers = LatestAnswers()
    first = answers.parse(READINGS, readings_body(1234.5))
    again = answers.parse(READINGS, readings_body(1234.5))  # equal bytes, another object
    assert isinstance(first, MeterReadings)
    assert again is first


def test_a_changed_body_is_parsed_and_replaces_the_kept_one():
    answers = LatestAnswers()
    first = answers.parse(READINGS, readings_body(1234.5))
    changed = answers.parse(READINGS, readings_body(99.0))
    assert changed is not first and changed != first
    assert answers.parse(READINGS, readings_body(1234.5)) == first  # parsed again, not a stale pick


def test_each_endpoint_keeps_its_own_answer():
    answers = LatestAnswers()
    readings = (SCENARIO / "ivp_meters_readings").read_bytes()
    meters = (SCENARIO / "ivp_meters").read_bytes()
    assert isinstance(answers.parse(READINGS, readings), MeterReadings)
    assert isinstance(answers.parse("/ivp/meters", meters), MetersConfig)
    assert isinstance(answers.parse(READINGS, readings), MeterReadings)


def test_a_bad_body_fails_every_time_and_the_last_good_reading_is_not_returned_for_it():
    answers = LatestAnswers()
    good = answers.parse(READINGS, readings_body(5.0))
    for _ in range(2):
        with pytest.raises(EnvoyDataError, match="not JSON"):
            answers.parse(READINGS, b"<html>busy</html>")
    assert answers.parse(READINGS, readings_body(5.0)) == good
