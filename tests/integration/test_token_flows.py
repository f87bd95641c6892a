"""Issue 12 end to end: the three token flows of the fake cloud, each failure Enphase has shown,
the fallback to the next flow, and the flow memory across restarts. The simulator serves real
HTTPS (gateway and cloud), the bridge runs as `run --once` against a real Mosquitto, and a paho
subscriber reads what reached the broker."""

from __future__ import annotations

import json
import stat

import pytest

from bridge.cli import main
from bridge.simulator import Simulator
from tests.support.mqtt import Subscriber
from tests.support.processes import write_config

pytestmark = pytest.mark.integration

FLOWS = ("entrez_json", "enlighten_get", "entrez_form")
# Each way a flow has broken in the field, as the fake cloud plays it (docs/simulator.md).
FAILURES = ("forbidden", "bad_request", "gone", "html", "sign_in", "invalid_serial", "wrong_serial")


@pytest.fixture
def sim():
    with Simulator(scenario="metered") as simulator:
        yield simulator


def configure(tmp_path, sim, broker, flows=FLOWS):
    return write_config(tmp_path, sim, broker, token_flows=list(flows))


def published_state(broker, serial: str) -> dict:
    sub = Subscriber(broker.host, broker.port, topics=(f"envoy/{serial}/#",))
    try:
        return json.loads(sub.wait_topic(f"envoy/{serial}/state"))
    finally:
        sub.close()


def issued(sim) -> dict[str, int]:
    counts = sim.cloud_counts
    return {flow: counts.get(f"{flow}_issued", 0) for flow in FLOWS}


def metadata(tmp_path) -> dict:
    (meta,) = (tmp_path / "cache").glob("*.meta.json")
    assert stat.S_IMODE(meta.stat().st_mode) == 0o600
    return json.loads(meta.read_text())


def lines(log: str, level: str, needle: str = "") -> list[str]:
    """The bridge's log lines (its own handler writes them to stderr) at `level` that hold `needle`."""
    return [line for line in log.splitlines() if f" {level} " in line and needle in line]


def assert_no_secret(log: str, sim, tmp_path) -> None:
    secrets = [sim.cloud_password]
    secrets += [p.read_text().strip() for p in (tmp_path / "cache").glob("*.jwt")]
    assert not any(secret and secret in log for secret in secrets)


@pytest.mark.parametrize("flow", FLOWS)
def test_each_flow_alone_gets_a_token_and_the_bridge_publishes(flow, tmp_path, sim, mosquitto, capfd):
    config = configure(tmp_path, sim, mosquitto, flows=[flow])
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert published_state(mosquitto, sim.serial)["production"]
    assert issued(sim) == {name: int(name == flow) for name in FLOWS}
    assert metadata(tmp_path)["flow"] == flow
    assert_no_secret(capfd.readouterr().err, sim, tmp_path)


@pytest.mark.parametrize("failure", FAILURES)
def test_a_broken_first_flow_falls_back_to_the_next_and_says_why_once(failure, tmp_path, sim, mosquitto, capfd):
    sim.cloud_fail("entrez_json", failure)
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert published_state(mosquitto, sim.serial)["production"]
    assert issued(sim)["enlighten_get"] == 1 and issued(sim)["entrez_form"] == 0
    log = capfd.readouterr().err
    assert len(lines(log, "WARNING", "token flow entrez_json failed")) == 1, log
    assert not lines(log, "ERROR")
    assert_no_secret(log, sim, tmp_path)
    assert metadata(tmp_path)["flow"] == "enlighten_get"


def test_mfa_on_the_enlighten_login_leaves_the_entrez_form(tmp_path, sim, mosquitto, capfd):
    sim.cloud_fail("entrez_json", "mfa")  # login.json asks for a code: both Enlighten flows fail
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert issued(sim) == {"entrez_json": 0, "enlighten_get": 0, "entrez_form": 1}
    log = capfd.readouterr().err
    assert len(lines(log, "WARNING", "MFA is on")) == 2, log  # both Enlighten flows say why
    assert_no_secret(log, sim, tmp_path)


def test_two_broken_flows_leave_the_third(tmp_path, sim, mosquitto, capfd):
    sim.cloud_fail("entrez_json", "gone")
    sim.cloud_fail("enlighten_get", "sign_in")
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert issued(sim) == {"entrez_json": 0, "enlighten_get": 0, "entrez_form": 1}
    assert published_state(mosquitto, sim.serial)["production"]


def test_all_flows_broken_is_one_error_listing_them_and_no_token_reaches_the_gateway(tmp_path, sim, mosquitto, capfd):
    for flow, failure in zip(FLOWS, ("forbidden", "wrong_serial", "html"), strict=True):
        sim.cloud_fail(flow, failure)
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) != 0
    log = capfd.readouterr().err
    errors = lines(log, "ERROR")
    assert len(errors) == 1 and all(flow in errors[0] for flow in FLOWS), log
    assert sim.request_counts.get("/auth/check_jwt", 0) == 0  # the wrong-serial token never reached it
    assert not list((tmp_path / "cache").glob("*.jwt"))
    assert_no_secret(log, sim, tmp_path)


def test_the_flow_that_worked_is_tried_first_after_a_restart(tmp_path, sim, mosquitto):
    sim.cloud_fail("entrez_json", "gone")
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 0
    sim.cloud_heal()  # entrez_json works again, but the remembered flow goes first
    tried_before = sim.cloud_counts.get("tokens", 0)
    assert main(["token", "renew", "-c", str(config)]) == 0
    assert sim.cloud_counts.get("tokens", 0) == tried_before
    assert issued(sim)["enlighten_get"] == 2
    assert metadata(tmp_path)["flow"] == "enlighten_get"


def test_token_renew_with_a_flow_forces_it(tmp_path, sim, mosquitto):
    config = configure(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert main(["token", "renew", "-c", str(config), "--flow", "entrez_form"]) == 0
    assert issued(sim)["entrez_form"] == 1
    assert metadata(tmp_path)["flow"] == "entrez_form"


def test_an_installer_token_is_recognised_and_shown(tmp_path, sim, mosquitto, capsys):
    sim.cloud_fail("entrez_json", "installer")
    config = configure(tmp_path, sim, mosquitto, flows=["entrez_json"])
    assert main(["run", "-c", str(config), "--once"]) == 0
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"envoy/{sim.serial}/#",))
    try:
        diagnostics = json.loads(sub.wait_topic(f"envoy/{sim.serial}/diagnostics"))
    finally:
        sub.close()
    assert diagnostics["token_type"] == "installer"
    assert diagnostics["token_flow"] == "entrez_json"
    assert 11.9 * 3600 < (diagnostics["token_expires"] - diagnostics["last_poll"]) <= 12 * 3600 + 60
