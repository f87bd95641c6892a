"""OAuth against `responses`: the authorize URL, the pasted code, exchange (Basic auth, query
parameters), refresh with rotation, the password grant, and what each refusal means."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bridge.cloudapi.oauth import REFRESH_TTL_S, OAuth, authorize_url, code_from
from bridge.errors import CloudApiAuthExpired, CloudApiDataError, CloudApiError, CloudApiKeyRefused
from tests.support.clock import FakeClock
from tests.unit.cloudapi.helpers import API, CLIENT, SECRET, TOKEN_URL, api_config, query, token_reply, tokens


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def oauth(clock):
    return OAuth(api_config(), requests.Session(), clock)


def test_the_authorize_url_names_the_client_the_redirect_and_the_state():
    url = authorize_url(api_config(), "st4te")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{API}/oauth/authorize"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": "https://api.enphaseenergy.com/oauth/redirect_uri",
        "state": "st4te",
    }


@pytest.mark.parametrize(
    "pasted",
    [
        "https://api.enphaseenergy.com/oauth/redirect_uri?code=Ab12cd&state=s1",
        "  ?code=Ab12cd&state=s1\n",
        "code=Ab12cd",
        "Ab12cd",
    ],
)
def test_the_code_comes_from_a_redirect_url_its_query_or_alone(pasted):
    assert code_from(pasted, "s1") == "Ab12cd"


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        ("https://x.test/cb?error=access_denied&state=s1", "did not give consent"),
        ("https://x.test/cb?code=Ab12cd&state=other", "another authorization"),
        ("https://x.test/cb?state=s1", "has no code"),
        ("not a code at all", "neither a redirect URL"),
    ],
)
def test_a_refusal_a_foreign_state_or_no_code_is_said_plainly(pasted, words):
    with pytest.raises(CloudApiError, match=words):
        code_from(pasted, "s1")


@responses.activate
def test_the_exchange_posts_the_code_in_the_query_with_basic_auth(oauth, clock):
    responses.post(TOKEN_URL, json=token_reply(1))
    got = oauth.exchange("Ab12cd")
    call = responses.calls[0]
    assert query(call) == {
        "grant_type": "authorization_code",
        "redirect_uri": "https://api.enphaseenergy.com/oauth/redirect_uri",
        "code": "Ab12cd",
    }
    expected = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert (got.access_token, got.refresh_token) == ("access-1-abcdefgh", "refresh-1-abcdefgh")
    assert got.access_expires_at == clock() + 86393 and got.refresh_expires_at == clock() + REFRESH_TTL_S
    assert "abcdefgh" not in repr(got)


@responses.activate
def test_a_refresh_rotates_the_refresh_token(oauth, clock):
    responses.post(TOKEN_URL, json=token_reply(2))
    got = oauth.refresh(tokens(clock, 1))
    assert query(responses.calls[0]) == {"grant_type": "refresh_token", "refresh_token": "refresh-1-abcdefgh"}
    assert got.refresh_token == "refresh-2-abcdefgh"


@responses.activate
def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(oauth, clock):
    reply = token_reply(2)
    del reply["refresh_token"]
    responses.post(TOKEN_URL, json=reply)
    old = tokens(clock, 1)
    got = oauth.refresh(old)
    assert (got.access_token, got.refresh_token, got.refresh_expires_at) == (
        "access-2-abcdefgh",
        old.refresh_token,
        old.refresh_expires_at,
    )


@responses.activate
def test_the_password_grant_sends_the_partner_login(clock):
    responses.post(TOKEN_URL, json=token_reply(1))
    cfg = api_config(grant="password", username="installer@example.com", password="pw-123456789")
    OAuth(cfg, requests.Session(), clock).password_grant()
    assert query(responses.calls[0]) == {
        "grant_type": "password",
        "username": "installer@example.com",
        "password": "pw-123456789",
    }


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}, CloudApiAuthExpired),
        (401, {"error": "invalid_client", "error_description": "Bad client credentials"}, CloudApiKeyRefused),
    ],
)
def test_a_refused_grant_means_authorize_again_and_a_refused_client_means_fix_the_config(
    oauth, clock, status, body, error
):
    responses.post(TOKEN_URL, status=status, json=body)
    with pytest.raises(error) as caught:
        oauth.refresh(tokens(clock, 1))
    assert body["error"] in str(caught.value)
    assert "refresh-1" not in str(caught.value) and SECRET not in str(caught.value)
    if error is CloudApiAuthExpired:
        assert "cloud authorize" in str(caught.value)


@responses.activate
def test_an_answer_without_tokens_is_a_data_error(oauth):
    responses.post(TOKEN_URL, json={"token_type": "bearer"})
    with pytest.raises(CloudApiDataError):
        oauth.exchange("Ab12cd")
