"""`envoy-mqtt-bridge simulate`'s cloud option: flows that fail from the start, checked first."""

from __future__ import annotations

import argparse

import pytest

from bridge.simulator import DEFAULT_CAPTURE
from bridge.simulator.cli import _announce, add_arguments, build_simulator, run
from tests.support.clock import FakeClock


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize("where", [["--scenario", "metered"], ["--capture", str(DEFAULT_CAPTURE)]])
def test_cloud_fail_sets_flows_failing_from_the_start(where):
    args = parse(*where, "--cloud-fail", "entrez_json=gone", "--cloud-fail", " entrez_form = mfa ")
    sim = build_simulator(args, time_func=FakeClock())
    assert sim.cloud.failures == {"entrez_json": "gone", "entrez_form": "mfa"}


def test_the_announcement_names_the_failing_flows(capsys):
    sim = build_simulator(parse("--cloud-fail", "enlighten_get=sign_in"), time_func=FakeClock())
    _announce(sim)
    assert "cloud_failures: enlighten_get=sign_in\n" in capsys.readouterr().out
    sim.cloud_heal()
    _announce(sim)
    assert "cloud_failures" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "value, problem",
    [
        ("entrez_json", "cloud failure must be one of"),
        ("entrez_json=meteor", "cloud failure must be one of"),
        ("=gone", "cloud flow must be one of"),
        ("fax=gone", "cloud flow must be one of"),
    ],
)
def test_a_bad_cloud_fail_is_one_line_and_exit_2_before_anything_listens(capsys, value, problem):
    assert run(parse("--cloud-fail", value)) == 2
    err = capsys.readouterr().err
    assert err.startswith("simulate: ") and problem in err and err.count("\n") == 1
