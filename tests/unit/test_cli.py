"""The command line against the simulator: check-config, token show/renew, fingerprint, pinning."""

import time

import pytest
import yaml

from bridge.cli import main
from bridge.files import write_private
from bridge.health import HealthReport
from bridge.simulator import Simulator
from tests.support.processes import write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


def test_check_config_prints_the_effective_config_with_secrets_masked(tmp_path, sim, mosquitto, capsys):
    config = write_config(tmp_path, sim, mosquitto)
    assert main(["check-config", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    shown = yaml.safe_load(out)
    assert shown["gateways"][0]["password"] == "********"
    assert shown["gateways"][0]["fingerprint"] == sim.fingerprint
    assert sim.cloud_password not in out
    assert shown["poll"]["meters"] == 10.0


def test_token_renew_then_show(tmp_path, sim, mosquitto, capsys):
    config = write_config(tmp_path, sim, mosquitto)
    assert main(["token", "show", "-c", str(config)]) == 0
    assert "no token yet" in capsys.readouterr().out
    assert main(["token", "renew", "-c", str(config)]) == 0
    assert sim.cloud_counts["tokens_issued"] == 1
    assert sim.request_counts.get("/auth/check_jwt") == 1  # validated before it was kept
    capsys.readouterr()
    assert main(["token", "show", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"serial:    {sim.serial}" in out and "type:      owner" in out
    assert "days left: 36" in out and "eyJ" not in out


def test_token_renew_with_refused_login_fails_in_one_line(tmp_path, sim, mosquitto, capsys):
    sim.cloud_mode = "bad_password"
    config = write_config(tmp_path, sim, mosquitto)
    assert main(["token", "renew", "-c", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "Enlighten refused the login" in err
    assert sim.cloud_password not in err


def test_mfa_account_is_told_to_paste_a_token(tmp_path, sim, mosquitto, capsys):
    sim.cloud_mode = "mfa"
    config = write_config(tmp_path, sim, mosquitto)
    assert main(["run", "-c", str(config), "--once"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "token" in err and ("multi-factor" in err.lower() or "mfa" in err.lower())


def test_pasted_token_is_used_without_the_cloud(tmp_path, sim, mosquitto):
    config = write_config(tmp_path, sim, mosquitto, token=sim.issue_token(), username=None, password=None)
    assert main(["run", "-c", str(config), "--once"]) == 0
    assert sim.cloud_counts.get("login", 0) == 0


def test_fingerprint_prints_the_served_certificate(sim, capsys):
    assert main(["fingerprint", sim.envoy_host]) == 0
    assert capsys.readouterr().out.strip() == sim.fingerprint


def test_pin_mismatch_stops_before_any_token_is_sent(tmp_path, sim, mosquitto, capsys):
    config = write_config(tmp_path, sim, mosquitto)
    sim.use_certificate("impostor")
    assert main(["run", "-c", str(config), "--once"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "fingerprint" in err.lower()
    assert sim.auth_counts.get("bearer", 0) == 0 and sim.auth_counts.get("cookie", 0) == 0
    assert sim.cloud_counts.get("login", 0) == 0


def test_health_command(tmp_path, sim, mosquitto, capsys):
    config = write_config(tmp_path, sim, mosquitto)
    assert main(["health", "-c", str(config)]) == 1
    now = time.time()
    report = HealthReport(written=now, started=now, max_silence_s=30, broker_last_reached=now, mqtt_thread_alive=True)
    write_private(tmp_path / "cache" / "health", report.to_json(), own_dir=True)
    assert main(["health", "-c", str(config), "--max-age", "60"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("healthy:")


def test_health_without_a_configuration_reads_the_cache_dir_of_the_environment(tmp_path, monkeypatch, capsys):
    """The Docker HEALTHCHECK runs `health --max-age 300`: no -c, no gateway in the environment,
    only ENVOY_BRIDGE_CACHE_DIR=/data from the image. It judges the document there and never
    asks for a configuration (exit 2)."""
    monkeypatch.setenv("ENVOY_BRIDGE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ENVOY_BRIDGE_GATEWAY_HOST", raising=False)
    (tmp_path / "config.yaml").write_text("gateways: []\n")  # the volume's file is not read
    assert main(["health", "--max-age", "300"]) == 1
    assert capsys.readouterr().out.startswith(f"unhealthy: no health document at {tmp_path / 'health'}")
    now = time.time()
    report = HealthReport(written=now, started=now, max_silence_s=30, broker_last_reached=now, mqtt_thread_alive=True)
    write_private(tmp_path / "health", report.to_json(), own_dir=True)
    assert main(["health", "--max-age", "300"]) == 0
    assert capsys.readouterr().out.startswith("healthy: 0 of 0 gateway(s) online")


def test_health_reads_only_the_cache_dir_of_the_configuration_file(tmp_path, monkeypatch, capsys):
    """The image sets ENVOY_BRIDGE_CONFIG=/data/config.yaml: `health` takes the cache directory from
    that file and judges nothing else in it (no gateway there is not a configuration error, exit 2)."""
    monkeypatch.delenv("ENVOY_BRIDGE_CACHE_DIR", raising=False)
    cache = tmp_path / "state"
    config = tmp_path / "config.yaml"
    config.write_text(f"cache_dir: {cache}\ngateways: []\n")
    monkeypatch.setenv("ENVOY_BRIDGE_CONFIG", str(config))
    now = time.time()
    report = HealthReport(written=now, started=now, max_silence_s=30, broker_last_reached=now, mqtt_thread_alive=True)
    write_private(cache / "health", report.to_json(), own_dir=True)
    assert main(["health", "--max-age", "300"]) == 0
    assert capsys.readouterr().out.startswith("healthy:")
    monkeypatch.setenv("ENVOY_BRIDGE_CACHE_DIR", str(tmp_path / "elsewhere"))  # the environment wins, as for run
    assert main(["health", "--max-age", "300"]) == 1
