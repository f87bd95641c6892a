"""RelayWatch alone: when the live data's relay state may stand in for a relay read."""

from __future__ import annotations

import logging

import pytest

from bridge.gateway.relay_watch import CHECK_S, RelayWatch

CLOSED, OPEN = 1, 0


def trusted_watch(now: float = 0.0) -> RelayWatch:
    watch = RelayWatch()
    watch.restart("999000000001")
    watch.relay_read(CLOSED, "on_grid", now)
    return watch


def test_nothing_is_trusted_before_a_relay_read_agreed_with_the_live_data():
    watch = RelayWatch()
    assert watch.relay_needed(CLOSED, 0.0) and watch.relay_needed(CLOSED, 100.0)
    watch.relay_read(CLOSED, "off_grid", 0.0)  # they disagree (a generator, an unknown meaning)
    assert watch.relay_needed(CLOSED, 1.0)


def test_once_they_agreed_the_relay_is_read_only_as_a_check_every_ten_seconds():
    watch = trusted_watch()
    assert not watch.relay_needed(CLOSED, 1.0)
    assert not watch.relay_needed(CLOSED, CHECK_S - 0.6)
    assert watch.relay_needed(CLOSED, CHECK_S - 0.5)  # a poll a few milliseconds early still checks


@pytest.mark.parametrize("live_state", [OPEN, 13, None])  # a change, a meaning unknown here, no fresh live data
def test_a_change_or_no_fresh_live_data_reads_the_relay_at_once(live_state):
    assert trusted_watch().relay_needed(live_state, 1.0)


def test_a_change_both_saw_keeps_the_trust():
    watch = trusted_watch()
    watch.relay_read(OPEN, "off_grid", 1.0)  # the outage: the live data said it, the relay confirms
    assert not watch.relay_needed(OPEN, 2.0) and watch.relay_needed(CLOSED, 2.0)


def test_live_data_ahead_of_the_relay_are_not_trusted_until_they_agree_again():
    watch = trusted_watch()
    watch.relay_read(OPEN, "on_grid", 1.0)  # the live data moved first
    assert watch.relay_needed(OPEN, 2.0)
    watch.relay_read(OPEN, "off_grid", 2.0)
    assert not watch.relay_needed(OPEN, 3.0)


def test_a_relay_change_the_live_data_missed_ends_the_trust_until_the_next_probe(caplog):
    watch = trusted_watch()
    with caplog.at_level(logging.WARNING):
        watch.relay_read(CLOSED, "off_grid", CHECK_S)  # the check: the relay opened, the live data still say closed
        watch.relay_read(CLOSED, "on_grid", CHECK_S + 1)
        watch.relay_read(CLOSED, "off_grid", CHECK_S + 2)
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # said once
    assert "999000000001" in caplog.text and "every poll" in caplog.text
    assert watch.relay_needed(CLOSED, CHECK_S + 3)  # agreeing again does not bring the trust back
    watch.restart("999000000001")
    watch.relay_read(CLOSED, "on_grid", 100.0)
    assert not watch.relay_needed(CLOSED, 101.0)
