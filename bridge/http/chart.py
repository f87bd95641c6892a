"""The last hour's production and consumption of one gateway as an inline SVG, rendered on the server.

The SVG holds only the lines (its width stretches with the page: `preserveAspectRatio="none"`
and strokes that do not scale); the scale's labels are HTML around it, so they stay legible
from a 390 px phone to a desktop. A gap of more than `GAP_S` between two points (an outage, a
stopped bridge) breaks the line: nothing is drawn where nothing was read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from bridge.http.history import KEEP_S, Point

WIDTH, HEIGHT = 3600, 100  # viewBox units: a second per unit across, a percent of the scale up
GAP_S = 60.0
SERIES = (("production", "Production"), ("consumption", "Consumption"))


def chart(points: Sequence[Point], now: float, title: str, span_s: float = KEEP_S) -> str:
    """The chart's figure: the SVG, its scale and its legend (with each series' latest value)."""
    series = {name: [(p.time, getattr(p, f"{name}_w")) for p in points] for name, _ in SERIES}
    values = [v for pairs in series.values() for _, v in pairs if v is not None]
    low, high = scale(values)
    paths = "".join(
        f'<path class="line {name}" d="{path(series[name], now, span_s, low, high)}"/>' for name, _ in SERIES
    )
    zero = _y(0.0, low, high)
    summary = "; ".join(f"{label} now {_latest(series[name])}" for name, label in SERIES)
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<div class="plot"><span class="high">{watts(high)}</span>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(title)}: {escape(summary)}" data-points="{len(points)}">'
        f'<line class="zero" x1="0" x2="{WIDTH}" y1="{zero}" y2="{zero}"/>{paths}</svg>'
        f'<span class="low">{watts(low)}</span></div>'
        f'<div class="axis"><span>{span_s / 60:.0f} min ago</span><span>now</span></div>'
        f'<ul class="legend">{"".join(_legend(name, label, series[name]) for name, label in SERIES)}</ul>'
        "</figure>"
    )


def scale(values: Sequence[float]) -> tuple[float, float]:
    """(low, high) of the vertical scale: from 0 (or the lowest value below it) up to a round
    number above the highest, at least 100 W, so a quiet night is not drawn as a storm."""
    low = min(0.0, *values) if values else 0.0
    high = max(100.0, *values) if values else 100.0
    return -_round_up(-low) if low < 0 else 0.0, _round_up(high)


def _round_up(value: float) -> float:
    """1, 2 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power >= value)


def path(pairs: Sequence[tuple[float, float | None]], now: float, span_s: float, low: float, high: float) -> str:
    """`M x y L x y ...`, a new `M` after each gap or unknown value."""
    parts: list[str] = []
    last: float | None = None
    for when, value in pairs:
        if value is None:
            last = None
            continue
        x = round((when - (now - span_s)) / span_s * WIDTH)
        command = "L" if last is not None and when - last <= GAP_S else "M"
        parts.append(f"{command}{x} {_y(value, low, high)}")
        last = when
    return " ".join(parts)


def _y(value: float, low: float, high: float) -> float:
    return round(HEIGHT - (value - low) / (high - low) * HEIGHT, 1)


def watts(value: float | None) -> str:
    """1840 -> "1.84 kW", 640 -> "640 W"; "unknown" for None."""
    if value is None:
        return "unknown"
    if abs(value) >= 1000:
        return f"{value / 1000:.3g} kW"
    return f"{value:.0f} W"


def _latest(pairs: Sequence[tuple[float, float | None]]) -> str:
    return watts(pairs[-1][1] if pairs else None)


def _legend(name: str, label: str, pairs: Sequence[tuple[float, float | None]]) -> str:
    return f'<li><span class="swatch {name}" aria-hidden="true"></span>{label}: {_latest(pairs)}</li>'
