"""Deterministic noise for the living simulator: the same scenario and clock always give the
same values, so tests can pin numbers and two runs can be compared. Not for anything secret.
"""

from __future__ import annotations

import math


def hash01(k: int, seed: int) -> float:
    """A deterministic pseudo-random number in [0, 1] for integer `k` (an integer hash)."""
    h = (k * 0x9E3779B1 + seed * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    h = (h * 0x297A2D39) & 0xFFFFFFFF
    h ^= h >> 15
    return h / 0xFFFFFFFF


def value_noise(t: float, period: float, seed: int) -> float:
    """Smooth deterministic noise in [0, 1]: random values every `period` s, eased between."""
    x = t / period
    k = math.floor(x)
    f = x - k
    a, b = hash01(k, seed), hash01(k + 1, seed)
    return a + (b - a) * f * f * (3 - 2 * f)
