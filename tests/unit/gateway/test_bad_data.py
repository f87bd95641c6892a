"""BadData: one line when an endpoint goes bad, one when it is good again, every bad answer counted."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from bridge.errors import EnvoyDataError
from bridge.gateway.bad_data import BadData

SERIAL, METERS = "999000000001", "/ivp/meters/readings"


def test_an_endpoint_going_bad_is_said_once_and_counted_every_time(caplog):
    diagnostics = {"errors": 0}
    bad_data = BadData(diagnostics)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            bad_data.bad(SERIAL, METERS, EnvoyDataError("not JSON"))
        bad_data.read(SERIAL, METERS, SimpleNamespace(dropped=()))
        bad_data.read(SERIAL, METERS, SimpleNamespace(dropped=()))
    assert diagnostics["errors"] == 3
    assert [r.getMessage() for r in caplog.records] == [
        f"Gateway {SERIAL}: bad data from {METERS}, skipping it: not JSON",
        f"Gateway {SERIAL}: {METERS} gives valid data again",
    ]


def test_fields_a_parser_left_out_are_named_three_at_most(caplog):
    bad_data = BadData({"errors": 0})
    with caplog.at_level(logging.WARNING):
        bad_data.read(SERIAL, METERS, SimpleNamespace(dropped=("a: NaN", "b: NaN", "c: NaN", "d: NaN", "e: NaN")))
    assert caplog.records[0].getMessage() == (
        f"Gateway {SERIAL}: bad fields from {METERS}, left out: a: NaN; b: NaN; c: NaN (and 2 more)"
    )
