"""`cloud authorize` against `responses`: a pasted redirect URL (argument or prompt), the code
exchanged, the tokens stored 0600; a refusal stores nothing. `cloud status` sends nothing."""

from __future__ import annotations

import json
import stat
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bridge.cli import main
from tests.unit.cloudapi.helpers import API, TOKEN_URL, query, token_reply

REDIRECT = "https://api.enphaseenergy.com/oauth/redirect_uri"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        f"cache_dir: {tmp_path / 'cache'}\n"
        "gateways:\n  - host: envoy.local\n    tls: {insecure: true}\n"
        "cloud_api:\n  api_key: key-0123456789\n  client_id: client-0123456789\n"
        f"  client_secret: secret-0123456789\n  api_url: {API}\n  oauth_url: {API}\n"
    )
    return path


def tokens_file(tmp_path):
    return tmp_path / "cache" / "cloud-api-tokens.json"


@responses.activate
def test_authorize_with_a_pasted_redirect_url_stores_the_tokens_0600(tmp_path, config, capsys):
    responses.post(TOKEN_URL, json=token_reply(1))
    assert main(["cloud", "authorize", "-c", str(config), f"{REDIRECT}?code=Ab12cd&state=earlier"]) == 0
    assert query(responses.calls[0])["code"] == "Ab12cd"
    path = tokens_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["refresh_token"] == "refresh-1-abcdefgh"
    out = capsys.readouterr().out
    assert "authorized" in out and "abcdefgh" not in out and "secret-0123456789" not in out


class Owner:
    """stdin at the prompt: reads the consent URL printed so far, "gives consent", and pastes
    the redirect with that URL's state, as a browser would have it."""

    def __init__(self, capsys):
        self.capsys = capsys

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        shown = self.capsys.readouterr().out
        url = next(word for word in shown.split() if word.startswith(f"{API}/oauth/authorize"))
        state = parse_qs(urlsplit(url).query)["state"][0]
        return f"{REDIRECT}?code=Zz99&state={state}\n"


@responses.activate
def test_authorize_prints_the_url_and_takes_the_redirect_at_the_prompt(tmp_path, config, capsys, monkeypatch):
    responses.post(TOKEN_URL, json=token_reply(1))
    monkeypatch.setattr("sys.stdin", Owner(capsys))
    assert main(["cloud", "authorize", "-c", str(config)]) == 0
    assert query(responses.calls[0])["code"] == "Zz99"
    assert tokens_file(tmp_path).exists()


@responses.activate
def test_a_denied_consent_or_a_refused_code_exits_1_and_stores_nothing(tmp_path, config, capsys):
    assert main(["cloud", "authorize", "-c", str(config), f"{REDIRECT}?error=access_denied"]) == 1
    assert "access_denied" in capsys.readouterr().err and not responses.calls
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "code used"})
    assert main(["cloud", "authorize", "-c", str(config), "Ab12cd"]) == 1
    assert "cloud authorize" in capsys.readouterr().err
    assert not tokens_file(tmp_path).exists()


@responses.activate
def test_status_shows_the_tokens_and_the_budget_without_a_request(tmp_path, config, capsys):
    responses.post(TOKEN_URL, json=token_reply(1))
    assert main(["cloud", "authorize", "-c", str(config), "Ab12cd"]) == 0
    capsys.readouterr()
    assert main(["cloud", "status", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "access token:  expires" in out and "this month:" in out and "system id:   not looked up yet" in out
    assert len(responses.calls) == 1


def test_the_commands_need_a_configured_cloud_api(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(f"cache_dir: {tmp_path}\ngateways:\n  - host: envoy.local\n    tls: {{insecure: true}}\n")
    assert main(["cloud", "status", "-c", str(path)]) == 2
    assert "cloud_api: not configured" in capsys.readouterr().err
