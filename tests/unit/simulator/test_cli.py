"""`envoy-mqtt-bridge simulate`'s cloud options: flows that fail from the start, checked first; the fake
Enlighten API v4 and what the announcement says of it."""

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


def test_the_cloud_api_is_off_unless_asked_for(capsys):
    sim = build_simulator(parse("--scenario", "metered"), time_func=FakeClock())
    assert sim.cloud_api is None
    _announce(sim)
    assert "cloud_api" not in capsys.readouterr().out


def test_the_cloud_api_option_announces_its_url_and_demo_credentials(capsys):
    sim = build_simulator(parse("--cloud-api", "--cloud-api-plan", "kilowatt"), time_func=FakeClock())
    assert sim.cloud_api is not None and sim.cloud_api.plan == "kilowatt"
    _announce(sim)
    out = capsys.readouterr().out
    for line in (
        f"cloud_api_url: {sim.cloud_api_url}\n",
        "cloud_api_key: simulator-api-key\n",
        "cloud_api_client_id: simulator-client-id\n",
        "cloud_api_client_secret: simulator-client-secret\n",
        "cloud_api_system_id: 1000001\n",
        "cloud_api_plan: kilowatt\n",
    ):
        assert line in out


def test_a_capture_has_no_cloud_api(capsys):
    assert run(parse("--capture", str(DEFAULT_CAPTURE), "--cloud-api")) == 2
    err = capsys.readouterr().err
    assert err.startswith("simulate: ") and "needs a living scenario" in err and err.count("\n") == 1
