"""The `cloud_api` section: off unless configured, secrets from files or the environment and
masked everywhere, the checks that say what is wrong."""

from __future__ import annotations

from bridge.config import describe
from tests.unit.config.conftest import MINIMAL

KEYS = "cloud_api:\n  api_key: k-0123456789\n  client_id: c-0123456789\n  client_secret: s-0123456789\n"
SECRETS = ("k-0123456789", "c-0123456789", "s-0123456789")
ONLY = "gateways:\n  - serial: '122334455667'\n"


def test_off_unless_configured_with_the_watt_plan_and_the_real_hosts_by_default(load):
    api = load(MINIMAL).cloud_api
    assert not api.enabled
    assert (api.per_minute, api.per_month, api.spread, api.mode, api.system_id) == (10, 1000, True, "complement", 0)
    assert api.api_url == api.oauth_url == "https://api.enphaseenergy.com"
    assert api.redirect_uri == "https://api.enphaseenergy.com/oauth/redirect_uri"


def test_the_credentials_are_masked_in_describe_repr_and_given_to_the_log_filter(load):
    config = load(ONLY + KEYS + "  system_id: 4242\n  mode: only\n")
    shown = describe(config)["cloud_api"]
    assert (shown["api_key"], shown["client_id"], shown["client_secret"]) == ("********",) * 3
    assert shown["system_id"] == 4242 and shown["mode"] == "only"
    for secret in SECRETS:
        assert secret not in repr(config) and secret not in str(describe(config))
    assert set(SECRETS) <= set(config.secrets())
    assert describe(config)["mqtt"]["client_id"] != "********"  # the MQTT client id is no secret


def test_secrets_come_from_files_and_the_environment(load, tmp_path):
    (tmp_path / "secret").write_text("s-from-a-file\n")
    environ = {
        "ENVOY_BRIDGE_CLOUD_API_API_KEY": "k-from-env",
        "ENVOY_BRIDGE_CLOUD_API_CLIENT_ID_FILE": str(tmp_path / "secret"),
        "ENVOY_BRIDGE_CLOUD_API_PER_MONTH": "50000",
    }
    text = MINIMAL + f"cloud_api:\n  client_secret_file: {tmp_path / 'secret'}\n"
    api = load(text, environ).cloud_api
    assert (api.api_key, api.client_id, api.client_secret, api.per_month) == (
        "k-from-env",
        "s-from-a-file",
        "s-from-a-file",
        50000,
    )


def test_the_checks_name_each_problem_and_never_a_secret(problems):
    found = problems(
        MINIMAL
        + "cloud_api:\n  api_key: k-0123456789\n  mode: cloud\n  grant: password\n  per_minute: 0\n"
        + "  api_url: http://api.example.com\n"
    )
    assert found == [
        (
            "cloud_api.client_id, cloud_api.client_secret: the API needs all three of api_key, client_id and "
            "client_secret (your application's keys at https://developer-v4.enphase.com)"
        ),
        "cloud_api.mode: must be one of complement, only",
        "cloud_api.username, cloud_api.password: the password grant needs both",
        "cloud_api.per_minute: at least 1 call (your plan's limit)",
        (
            "cloud_api.api_url: plain http would send the Enlighten password and tokens in clear text; use https:// "
            "(http:// is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost)"
        ),
    ]
    assert not any("k-0123456789" in p for p in found)


def test_loopback_urls_are_allowed_for_the_simulator_and_the_tests(load):
    api = load(MINIMAL + KEYS + "  api_url: http://127.0.0.1:8081\n  oauth_url: https://localhost:8443\n").cloud_api
    assert api.enabled and api.api_url == "http://127.0.0.1:8081"


def test_only_mode_takes_a_gateway_with_a_serial_and_nothing_local(load):
    config = load(ONLY + KEYS + "  mode: only\n  outage_after_s: 60\n")
    assert config.cloud_api.only and config.cloud_api.outage_after_s == 60
    (gateway,) = config.gateways
    assert (gateway.serial, gateway.host, gateway.label) == ("122334455667", "", "122334455667")
    assert config.max_silence_s == 3 * 31 * 86400 / 1000  # the state changes at the budget's pace


def test_only_mode_says_exactly_what_is_missing_or_not_used(problems):
    assert problems(ONLY + "cloud_api:\n  mode: only\n") == [
        "cloud_api.mode: only reads everything from the cloud API: set api_key, client_id and client_secret"
    ]
    local = "gateways:\n  - host: envoy.local\n    serial: '122'\n    tls: {insecure: true}\n"
    unused = (
        "not used with cloud_api.mode only (no local access); remove it, or use mode complement to read the gateway"
    )
    unused += " too"
    assert problems(local + KEYS + "  mode: only\n") == [f"gateways[0].host: {unused}", f"gateways[0].tls: {unused}"]
    assert problems("gateways:\n  - {}\n" + KEYS + "  mode: only\n") == [
        "gateways[0].serial: required with cloud_api.mode only (the gateway's serial, on its label)"
    ]
    two = ONLY + "  - serial: '2'\n"
    assert problems(two + KEYS + "  mode: only\n") == [
        "gateways: cloud_api.mode only reads one system from the cloud: list exactly one gateway"
    ]
