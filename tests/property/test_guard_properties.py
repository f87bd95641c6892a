"""The counter guard over random histories (hypothesis): healthy growth, glitches (0, negative,
1e308, steps back or up), the firmware's 2**32 J wrap and real meter resets, in any order and at
any pace. Properties: a published counter is never negative, absurd or a lone 0; it goes back
only through a wrap or a new level that lasted REANCHOR_S; it never jumps beyond what the
system could produce since its last change unless a new level lasted that long; and a healthy
history passes through untouched."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bridge.model.guard import (
    ABSURD_WH,
    GATEWAY_MAX_POWER_W,
    REANCHOR,
    REANCHOR_S,
    SLACK_S,
    STATE,
    WRAP,
    WRAP_WH,
    CounterGuard,
)
from tests.property.strategies import SETTINGS

pytestmark = pytest.mark.property
SERIAL = "123456789012"
NAME = "state production.energy_lifetime_wh"
NET = "state net_consumption.energy_lifetime_wh"

GROW = st.tuples(st.just("grow"), st.floats(min_value=0, max_value=GATEWAY_MAX_POWER_W))
GLITCH = st.tuples(
    st.just("glitch"),
    st.one_of(
        st.sampled_from([0, -1, -5_000_000, 1e308, 10**308, ABSURD_WH + 1, 2**32]),
        st.integers(min_value=-(10**13), max_value=10**13),
    ),
)
EVENTS = st.one_of(
    GROW, GROW, GROW, GLITCH, st.tuples(st.just("wrap"), st.just(0)), st.tuples(st.just("reset"), st.just(0))
)
PACE = st.sampled_from([1.0, 10.0, 60.0, 300.0, 3600.0])
# A meter replaced (or another source taken): back to 0, then steady growth for a while, so
# the new-level rule is reached as often as the others.
NEW_METER = st.tuples(st.integers(min_value=2, max_value=12), GROW).map(
    lambda n_grow: [(60.0, ("reset", 0))] + [(600.0, n_grow[1])] * n_grow[0]
)
STEPS = st.lists(st.one_of(st.tuples(PACE, EVENTS).map(lambda step: [step]), NEW_METER), min_size=1, max_size=40).map(
    lambda episodes: [step for episode in episodes for step in episode]
)


def feed(steps, start: int, section: str = "production"):
    """(time, raw, published, events) per cycle, for one counter of the state document."""
    guard, now, truth, out = CounterGuard(), 0.0, start, []
    for dt, (what, x) in steps:
        now += dt
        if what == "grow":
            truth += round(x * dt / 3600)
        elif what == "wrap":
            truth = max(truth - round(WRAP_WH), 0)
        elif what == "reset":
            truth = 0
        raw = x if what == "glitch" else truth
        guarded = guard.apply(SERIAL, {STATE: {section: {"energy_lifetime_wh": raw}}}, now)
        published = guarded.documents[STATE][section].get("energy_lifetime_wh")
        out.append((now, raw, published, {e.what for e in guarded.events}))
        for what in out[-1][3]:
            event(what)  # --hypothesis-show-statistics: how often each rule was reached
    return out


@SETTINGS
@given(STEPS, st.integers(min_value=0, max_value=10**9))
def test_a_published_lifetime_never_goes_back_nor_jumps_beyond_the_bound(steps, start):
    last = None  # (value, time it was first published)
    for now, _raw, published, events in feed(steps, start):
        if published is None:
            assert last is None  # left out only while there is no good value yet
            continue
        assert isinstance(published, (int, float)) and not isinstance(published, bool)
        assert 0 <= published <= ABSURD_WH
        if last is not None and published != last[0]:
            bound = GATEWAY_MAX_POWER_W * (now - last[1] + SLACK_S) / 3600
            if published < last[0]:
                assert events & {WRAP, REANCHOR}, (last, published)
            elif published - last[0] > bound:
                assert REANCHOR in events, (last, published, bound)
            if REANCHOR in events:
                assert published != 0
        if last is None or published != last[0]:
            last = (published, now)


@SETTINGS
@given(STEPS, st.integers(min_value=0, max_value=10**9))
def test_a_new_level_needs_an_hour_of_refused_values(steps, start):
    refused_since = None
    for now, raw, published, events in feed(steps, start):
        if REANCHOR in events:
            assert refused_since is not None and now - refused_since >= REANCHOR_S
        refused_since = (refused_since if refused_since is not None else now) if published != raw else None


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from([1.0, 10.0, 60.0, 300.0, 3600.0]), st.floats(min_value=0, max_value=1.0)),
        min_size=1,
        max_size=120,
    ),
    st.integers(min_value=0, max_value=10**9),
)
def test_a_healthy_history_passes_untouched(steps, start):
    """Growth up to the maximum power, at any pace: nothing held, nothing logged."""
    history = feed([(dt, ("grow", share * GATEWAY_MAX_POWER_W)) for dt, share in steps], start)
    assert all(published == raw and not events for _, raw, published, events in history)


@SETTINGS
@given(STEPS, st.integers(min_value=-(10**9), max_value=10**9))
def test_the_net_counter_is_never_absurd_nor_a_lone_zero(steps, start):
    previous = None
    for _, _, published, events in feed(steps, start, section="net_consumption"):
        if published is None:
            continue
        assert abs(published) <= ABSURD_WH
        if previous not in (None, 0) and published == 0:
            raise AssertionError(f"0 published after {previous} ({events})")
        previous = published
