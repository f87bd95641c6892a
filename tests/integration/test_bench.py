"""Smoke test of the benchmarks: `bench/run.py --quick` runs every section and prints every
figure with its target. It checks that the script works, not the figures (this machine is
shared and noisy; the full run and docs/performance.md are for figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.pyenphase_side import available as pyenphase_version
from tests.support.mqtt import mosquitto_binary

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "performance.md"
SECTIONS = {"1", "2", "3", "4", "5", "6"}
COMPARISONS = ("Gateway load at HA freshness", "CPU per full cycle")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (scripts/test and bench/setup install it)")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    doc_before = DOC.read_bytes() if DOC.exists() else None
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    doc_after = DOC.read_bytes() if DOC.exists() else None
    data = json.loads(out.read_text()) if out.exists() else None
    return proc, data, doc_before == doc_after


def _figure(data, start: str) -> dict:
    return next(f for f in data["figures"] if f["name"].startswith(start))


def test_quick_bench_runs_every_section_and_prints_each_target(quick):
    proc, data, doc_untouched = quick
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert data is not None
    figures = data["figures"]
    assert {f["section"] for f in figures} >= SECTIONS
    assert not [f for f in figures if f["section"] == "!"], "a section failed"
    for f in figures:
        assert f["measured"] and f["status"] in ("met", "MISSED", "info", "skipped"), f
        if f["target"] != "-":
            assert f["status"] != "info", f"{f['name']}: a figure with a target says met or MISSED"
    for f in figures:
        assert f["name"][:30] in proc.stdout  # the printed table has every figure
    assert "target" in proc.stdout and "target(s) missed" in proc.stdout
    assert doc_untouched, "--quick must not rewrite docs/performance.md"


def test_quick_bench_compares_with_pyenphase(quick):
    if pyenphase_version() is None:
        pytest.skip(
            "pyenphase is the bench's own dependency, not the project's: bench/setup installs it in "
            "bench/.venv (run this test with bench/.venv/bin/python -m pytest -m bench)"
        )
    _, data, _ = quick
    for name in COMPARISONS:
        assert _figure(data, name)["status"] in ("met", "MISSED")
    assert data["context"]["pyenphase"] == pyenphase_version()


def test_without_pyenphase_the_comparisons_are_skipped_with_the_reason(quick):
    if pyenphase_version() is not None:
        pytest.skip("pyenphase is installed here: the comparisons ran (see the test above)")
    _, data, _ = quick
    for name in COMPARISONS:
        figure = _figure(data, name)
        assert figure["status"] == "skipped" and "bench/setup" in figure["note"]
