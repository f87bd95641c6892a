"""check-config's summary: the effective configuration as plain data, secrets masked."""

from __future__ import annotations

from bridge.config import describe
from tests.unit.config.conftest import MINIMAL

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIxIn0.c2ln"


def test_secrets_never_in_repr_or_describe(load):
    text = MINIMAL + f"    username: me@example.com\n    password: hunter2\n    token: {TOKEN}\n"
    config = load(text, {"ENVOY_BRIDGE_MQTT_PASSWORD": "brokerpw"})
    for shown in (repr(config), str(describe(config))):
        for secret in ("hunter2", TOKEN, "brokerpw", "eyJ"):
            assert secret not in shown
    assert set(config.secrets()) == {"hunter2", TOKEN, "brokerpw"}


def test_masked_secrets_are_shown_as_set_and_unset_ones_as_none(load):
    summary = describe(load(MINIMAL + "    username: me@example.com\n    password: hunter2\n"))
    gateway = summary["gateways"][0]
    assert (gateway["password"], gateway["token"], summary["mqtt"]["password"]) == ("********", None, None)
    assert gateway["username"] == "me@example.com"


def test_every_section_is_there_as_plain_data(load, tmp_path):
    summary = describe(load(MINIMAL + f"cache_dir: {tmp_path}\n"))
    assert set(summary) == {
        "gateways",
        "log_level",
        "cache_dir",
        "mqtt",
        "homeassistant",
        "cloud",
        "poll",
        "health",
        "energy",
        "controls",
        "cloud_api",
        "http",
    }
    assert summary["cache_dir"] == str(tmp_path)
    assert summary["gateways"][0]["token_cache"] == str(tmp_path / "token-envoy.local.jwt")  # a Path, as text
    assert summary["gateways"][0]["energy_state"] == str(tmp_path / "energy-envoy.local.json")
    assert summary["energy"] == {"max_gap_s": 300.0, "save_interval_s": 60.0}
    assert summary["poll"]["meters"] == 10.0 and summary["homeassistant"]["expire_after"] == "auto"


def test_check_config_shows_which_controls_are_enabled(load):
    summary = describe(load(MINIMAL + "controls:\n  relays: true\n  min_interval_s: 10\n"))
    controls = summary["controls"]
    assert (controls["relays"], controls["battery"], controls["production"]) == (True, False, False)
    assert controls["min_interval_s"] == 10.0
