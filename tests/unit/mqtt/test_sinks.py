"""The MQTT sinks of one gateway, on a recording publisher: topics, exact payload bytes, what
counts as a change, and one log line per grid or availability change."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from bridge.model import LiveDocument
from bridge.model.snapshot import Availability
from bridge.mqtt.sinks import (
    AvailabilitySink,
    CloudSink,
    DiagnosticsSink,
    GridStatusSink,
    LiveSink,
    StateSink,
    UnitsSink,
)
from tests.support.sinks import SERIAL, Recorder, make_snapshot

BASE = "home/solar"


def lines(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bridge.mqtt.sinks"]


def test_state_is_compact_json_and_compared_without_its_time():
    rec = Recorder()
    payload = {"schema": 1, "serial": SERIAL, "time": 1_700_000_000, "production": {"power_w": 1200}}
    StateSink(rec, BASE).snapshot(make_snapshot(payload))
    assert rec.states == [(f"{BASE}/{SERIAL}/state", json.dumps(payload, separators=(",", ":")))]
    compare = json.loads(rec.compares[f"{BASE}/{SERIAL}/state"])
    assert compare == {"schema": 1, "serial": SERIAL, "production": {"power_w": 1200}}


def test_a_value_json_cannot_carry_is_refused_not_sent():
    rec = Recorder()
    with pytest.raises(ValueError, match="JSON compliant"):
        StateSink(rec, BASE).snapshot(make_snapshot({"production": {"power_w": float("nan")}}))
    assert rec.states == []


def test_each_unit_document_goes_to_its_own_topic_compared_whole():
    rec = Recorder()
    documents = {"inverter/123": {"power_w": 200}, "relay/abc": {"state": "closed"}}
    UnitsSink(rec, BASE).snapshot(make_snapshot(documents=documents))
    assert rec.states == [
        (f"{BASE}/{SERIAL}/inverter/123", '{"power_w":200}'),
        (f"{BASE}/{SERIAL}/relay/abc", '{"state":"closed"}'),
    ]
    assert set(rec.compares.values()) == {None}


def test_diagnostics_are_compared_without_the_time_and_length_of_the_poll():
    rec = Recorder()
    diagnostics = {"errors": 2, "last_poll": 1_700_000_000, "poll_duration_s": 0.8, "token_days_left": 300.5}
    DiagnosticsSink(rec, BASE).snapshot(make_snapshot(diagnostics=diagnostics))
    topic = f"{BASE}/{SERIAL}/diagnostics"
    assert rec.last("/diagnostics") == json.dumps(diagnostics, separators=(",", ":"))
    assert json.loads(rec.compares[topic]) == {"errors": 2, "token_days_left": 300.5}


def test_grid_status_is_sent_when_it_changes_and_an_outage_is_logged(caplog):
    caplog.set_level(logging.INFO)
    rec = Recorder()
    sink = GridStatusSink(rec, BASE)
    sink.grid_status(SERIAL, "on_grid")  # the first status is no news
    sink.grid_status(SERIAL, "on_grid")
    sink.grid_status(SERIAL, "off_grid")
    sink.grid_status(SERIAL, "on_grid")
    assert rec.states == [(f"{BASE}/{SERIAL}/grid/status", s) for s in ("on_grid", "off_grid", "on_grid")]
    assert lines(caplog) == [
        ("WARNING", f"Gateway {SERIAL}: grid status off_grid"),
        ("INFO", f"Gateway {SERIAL}: grid status on_grid"),
    ]


def test_grid_status_from_a_full_cycle_is_sent_when_it_changes_without_a_log_line(caplog):
    caplog.set_level(logging.INFO)
    rec = Recorder()
    sink = GridStatusSink(rec, BASE)
    sink.snapshot(make_snapshot(grid_status=None))  # no relay, no collar: nothing to say
    sink.snapshot(make_snapshot(grid_status="on_grid"))
    sink.snapshot(make_snapshot(grid_status="on_grid"))
    sink.grid_status(SERIAL, "on_grid")  # the fast path agrees: nothing new
    sink.snapshot(make_snapshot(grid_status="off_grid"))
    assert rec.history("/grid/status") == ["on_grid", "off_grid"]
    assert lines(caplog) == []


def test_availability_is_sent_per_change_with_one_log_line_each(caplog):
    caplog.set_level(logging.INFO)
    rec = Recorder()
    sink = AvailabilitySink(rec, BASE)
    sink.availability(Availability(SERIAL, True))
    sink.availability(Availability(SERIAL, True))
    sink.availability(Availability(SERIAL, False, "gw: connection refused"))
    sink.availability(Availability(SERIAL, True))
    assert rec.states == [(f"{BASE}/{SERIAL}/availability", s) for s in ("online", "offline", "online")]
    assert lines(caplog) == [
        ("ERROR", f"Gateway {SERIAL}: unavailable: gw: connection refused"),
        ("INFO", f"Gateway {SERIAL}: recovered, publishing again"),
    ]


def test_a_gateway_unreachable_from_the_start_is_offline_without_a_recovery_before():
    rec = Recorder()
    sink = AvailabilitySink(rec, BASE)
    sink.availability(Availability("gw.local", False, "timed out"))  # no serial yet: the host
    assert rec.states == [(f"{BASE}/gw.local/availability", "offline")]


def test_the_live_document_goes_out_at_each_read_and_with_each_cycle_compared_without_its_time():
    rec = Recorder()
    sink = LiveSink(rec, BASE)
    read = LiveDocument(time=1_700_000_001, sampled_at=1_700_000_000, grid_power_w=-600.5, main_relay="closed")
    sink.live(SERIAL, read)
    sink.snapshot(make_snapshot(live=replace(read, time=1_700_000_002)))
    sink.snapshot(make_snapshot())  # no fresh live reading: nothing
    topic = f"{BASE}/{SERIAL}/live"
    assert rec.states == [
        (topic, '{"time":1700000001,"sampled_at":1700000000,"grid_power_w":-600.5,"main_relay":"closed"}'),
        (topic, '{"time":1700000002,"sampled_at":1700000000,"grid_power_w":-600.5,"main_relay":"closed"}'),
    ]
    assert json.loads(rec.compares[topic]) == {
        "sampled_at": 1_700_000_000,
        "grid_power_w": -600.5,
        "main_relay": "closed",
    }


def test_sinks_listen_only_to_their_own_events():
    rec = Recorder()
    live = LiveDocument(time=1, pv_power_w=1.0)
    for sink in (StateSink(rec, BASE), UnitsSink(rec, BASE), DiagnosticsSink(rec, BASE), LiveSink(rec, BASE)):
        sink.grid_status(SERIAL, "off_grid")
        sink.availability(Availability(SERIAL, False, "down"))
    for sink in (StateSink(rec, BASE), UnitsSink(rec, BASE), DiagnosticsSink(rec, BASE), GridStatusSink(rec, BASE)):
        sink.live(SERIAL, live)
    AvailabilitySink(rec, BASE).snapshot(make_snapshot())
    GridStatusSink(rec, BASE).availability(Availability(SERIAL, True))
    assert rec.states == []


def test_the_cloud_document_is_compared_without_its_time_and_age():
    rec = Recorder()
    document = {"time": 10, "age_s": 600, "source_status": "ok", "production": {"power_w": 900, "at": 5}}
    CloudSink(rec, BASE).cloud(SERIAL, document)
    assert rec.states == [(f"{BASE}/{SERIAL}/cloud", json.dumps(document, separators=(",", ":")))]
    assert json.loads(rec.compares[f"{BASE}/{SERIAL}/cloud"]) == {
        "source_status": "ok",
        "production": document["production"],
    }
