"""The chart: its scale, its lines (broken at gaps), its labels."""

from __future__ import annotations

import re

import pytest

from bridge.http.chart import chart, path, scale, watts
from bridge.http.history import Point

NOW = 1_700_003_600.0


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], (0.0, 100.0)),
        ([0.0, 12.0], (0.0, 100.0)),  # a quiet night keeps a 100 W scale
        ([1840.0, 640.0], (0.0, 2000.0)),
        ([4100.0], (0.0, 5000.0)),
        ([5000.0], (0.0, 5000.0)),
        ([-3.0, 2500.0], (-5.0, 5000.0)),  # a few watts below zero at night stay on the chart
    ],
)
def test_the_scale_runs_from_zero_to_a_round_number(values, expected):
    assert scale(values) == expected


def test_a_line_breaks_at_a_gap_and_at_an_unknown_value():
    pairs = [(NOW - 3600, 0.0), (NOW - 3590, 50.0), (NOW - 3000, 100.0), (NOW - 2990, None), (NOW - 2980, 100.0)]
    assert path(pairs, NOW, 3600, 0, 100) == "M0 100.0 L10 50.0 M600 0.0 M620 0.0"


def test_the_chart_has_both_lines_its_scale_and_an_accessible_summary():
    points = [Point(NOW - 600 + 10 * i, 1000.0 + i, 500.0) for i in range(60)]
    html = chart(points, NOW, "Last hour <b>")
    assert 'data-points="60"' in html and html.count('class="line ') == 2
    production = re.search(r'class="line production" d="([^"]*)"', html)
    assert production and production.group(1).startswith("M3000 ") and production.group(1).count("L") == 59
    assert 'role="img"' in html and "Production now 1.06 kW; Consumption now 500 W" in html
    assert "Last hour &lt;b&gt;" in html and "<b>" not in html
    assert '<span class="high">2 kW</span>' in html and "60 min ago" in html


def test_no_points_draw_nothing_and_say_unknown():
    html = chart([], NOW, "Last hour")
    assert 'data-points="0"' in html and 'd=""' in html and "Production: unknown" in html


@pytest.mark.parametrize("value, text", [(None, "unknown"), (640.4, "640 W"), (1840, "1.84 kW"), (-2500, "-2.5 kW")])
def test_watts(value, text):
    assert watts(value) == text
