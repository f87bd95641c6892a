"""The simulator's deterministic noise: the same inputs always give the same values."""

from __future__ import annotations

import itertools

import pytest

from bridge.simulator.noise import hash01, value_noise


def test_hash01_is_fixed_by_its_inputs_and_spread_over_the_unit_interval():
    values = [hash01(k, 7) for k in range(2000)]
    assert values == [hash01(k, 7) for k in range(2000)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert min(values) < 0.05 and max(values) > 0.95 and 0.45 < sum(values) / len(values) < 0.55
    assert [hash01(k, 8) for k in range(20)] != values[:20]  # another seed, another sequence


def test_value_noise_passes_through_its_knots_and_stays_in_range():
    assert value_noise(600.0, 60, 1) == pytest.approx(hash01(10, 1))
    assert value_noise(630.0, 60, 1) == pytest.approx((hash01(10, 1) + hash01(11, 1)) / 2)  # eased midpoint
    samples = [value_noise(k * 13.7, 60, 1) for k in range(1000)]
    assert min(samples) >= 0 and max(samples) <= 1
    steps = [abs(b - a) for a, b in itertools.pairwise(samples)]
    assert max(steps) < 0.5  # smooth: 13.7 s apart never jumps across the whole range
