"""The bridge against the simulator's fake cloud API v4: its `cloud_api` section, and the owner's
consent given the way a user gives it (`cloud authorize` with the address the browser ends on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from bridge.cli import main
from bridge.cloudapi.oauth import authorize_url, new_state
from bridge.config import load_config
from bridge.simulator import CA_FILE, Simulator


def cloud_api_section(sim: Simulator, **settings: Any) -> dict[str, Any]:
    """What a user writes for the fake's application (its public test credentials)."""
    api = sim.cloud_api
    assert api is not None, "Simulator(cloud_api=True) needed"
    return {
        "api_key": api.api_key,
        "client_id": api.client_id,
        "client_secret": api.client_secret,
        "api_url": sim.cloud_api_url,
        "oauth_url": sim.cloud_api_url,
        "ca_file": sim.ca_file,
        **settings,
    }


def write_cloud_only_config(tmp_path: Path, sim: Simulator, broker: Any, **settings: Any) -> Path:
    """config.yaml of `cloud_api.mode: only`: the gateway named by its serial alone."""
    config = {
        "gateways": [{"serial": sim.serial}],
        "cache_dir": str(tmp_path / "cache"),
        "mqtt": {"host": broker.host, "port": broker.port, "base_topic": "envoy"},
        "cloud_api": cloud_api_section(sim, mode="only", **settings),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def add_cloud_api(config_path: Path, sim: Simulator, **settings: Any) -> Path:
    """The `cloud_api` section added to an existing config.yaml (a local gateway's)."""
    config = yaml.safe_load(config_path.read_text())
    config["cloud_api"] = cloud_api_section(sim, **settings)
    config_path.write_text(yaml.safe_dump(config))
    return config_path


def authorize(config_path: Path) -> None:
    """The owner opens the consent URL the bridge makes (the fake consents at once and redirects
    to its code page), then pastes that address into `cloud authorize`."""
    cfg = load_config(config_path).cloud_api
    consent = requests.get(authorize_url(cfg, new_state()), verify=CA_FILE, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.status_code
    assert main(["cloud", "authorize", "-c", str(config_path), consent.headers["Location"]]) == 0
