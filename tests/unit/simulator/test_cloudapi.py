"""The fake Enlighten API v4's routes without sockets: the consent's redirect, the token endpoint,
the key and token checks in their order, the plan's quota and its device-level data."""

from __future__ import annotations

import base64
import json
from email.message import Message
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bridge.simulator.cloudapi import DEFAULT_REDIRECT, OTHER_API_KEY, CloudApiApp
from bridge.simulator.cloudapi_data import SystemData
from bridge.simulator.httpd import Request, Response
from tests.unit.simulator.helpers import living

REDIRECT = "https://localhost:8443/callback"
ACCOUNT = ("owner@example.com", "simulator-password")


def request(method: str, path: str, params: dict[str, str] | None = None, headers=(), body=b"") -> Request:
    message = Message()
    for name, value in headers:
        message[name] = value
    return Request(method, path, urlencode(params or {}), message, body, connection=None)


def basic(client_id: str, secret: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode())


def decoded(response: Response):
    return json.loads(response.body)


@pytest.fixture
def world():
    source, fake = living("three_phase_battery")
    return source, fake


@pytest.fixture
def app(world) -> CloudApiApp:
    source, _ = world
    return CloudApiApp(
        SystemData(source.scenario, source.world, source.clock), source.serial, ACCOUNT, source.clock.now
    )


def consent(app: CloudApiApp, redirect_uri: str = REDIRECT, state: str = "s1") -> dict[str, list[str]]:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri, "state": state}
    answer = app.handle(request("GET", "/oauth/authorize", params))
    assert answer.status == 302
    location = dict(answer.headers)["Location"]
    assert location.startswith(redirect_uri + "?")
    return parse_qs(urlsplit(location).query)


def token(app: CloudApiApp, params: dict[str, str], client=None) -> Response:
    credentials = client or basic(app.client_id, app.client_secret)
    return app.handle(request("POST", "/oauth/token", params, [credentials]))


def signed_in(app: CloudApiApp) -> dict[str, str]:
    code = consent(app)["code"][0]
    answer = token(app, {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code})
    assert answer.status == 200
    return decoded(answer)


def api(app: CloudApiApp, path: str, access: str | None, key: str | None = None, **params: str) -> Response:
    query = {"key": app.api_key if key is None else key, **params}
    headers = [("Authorization", f"Bearer {access}")] if access else []
    return app.handle(request("GET", path, query, headers))


def test_consent_then_code_then_tokens(app):
    assert consent(app)["state"] == ["s1"]
    body = signed_in(app)
    assert body["token_type"] == "bearer" and body["expires_in"] == 86393 and body["scope"] == "read write"
    assert {"enl_uid", "enl_cid", "jti", "refresh_token"} <= set(body)
    assert app.calls == {"/oauth/authorize": 2, "/oauth/token": 1}  # OAuth calls are not API calls
    assert app.month_calls == 0


def test_a_denied_consent_and_the_default_redirect_page(app):
    app.deny = True
    assert consent(app) == {"error": ["access_denied"], "state": ["s1"]}
    app.deny = False
    params = {"response_type": "code", "client_id": app.client_id}
    location = dict(app.handle(request("GET", "/oauth/authorize", params)).headers)["Location"]
    assert location.startswith("/oauth/redirect_uri?code=")  # never the real host
    code = parse_qs(urlsplit(location).query)["code"][0]
    page = app.handle(request("GET", "/oauth/redirect_uri", {"code": code}))
    assert page.status == 200 and code in page.body.decode()
    exchanged = token(app, {"grant_type": "authorization_code", "redirect_uri": DEFAULT_REDIRECT, "code": code})
    assert exchanged.status == 200


def test_bad_consent_requests(app):
    wrong_client = {"response_type": "code", "client_id": "nobody"}
    assert decoded(app.handle(request("GET", "/oauth/authorize", wrong_client)))["error"] == "invalid_request"
    not_code = {"response_type": "token", "client_id": app.client_id}
    assert decoded(app.handle(request("GET", "/oauth/authorize", not_code)))["error"] == "unsupported_response_type"


def test_the_token_endpoint_refuses(app):
    code = consent(app)["code"][0]
    exchange = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code}
    bad_secret = token(app, exchange, basic(app.client_id, "wrong"))
    assert bad_secret.status == 401 and decoded(bad_secret)["error"] == "invalid_client"
    assert token(app, exchange, ("Authorization", "Basic !!!")).status == 401
    assert token(app, exchange).status == 200
    twice = token(app, exchange)
    assert twice.status == 400 and decoded(twice) == {
        "error": "invalid_grant",
        "error_description": "Authorization code already used",
    }
    assert decoded(token(app, {"grant_type": "client_credentials"}))["error"] == "unsupported_grant_type"
    assert app.handle(request("GET", "/oauth/token")).status == 405


def test_refresh_rotates_and_a_form_body_is_taken(app):
    first = signed_in(app)
    form = urlencode({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).encode()
    headers = [basic(app.client_id, app.client_secret), ("Content-Type", "application/x-www-form-urlencoded")]
    renewed = app.handle(request("POST", "/oauth/token", None, headers, form))
    assert renewed.status == 200 and decoded(renewed)["refresh_token"] != first["refresh_token"]
    again = token(app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert again.status == 400 and decoded(again)["error"] == "invalid_grant"


def test_the_password_grant_takes_the_cloud_account(app):
    user, password = ACCOUNT
    assert token(app, {"grant_type": "password", "username": user, "password": password}).status == 200
    refused = token(app, {"grant_type": "password", "username": user, "password": "nope"})
    assert refused.status == 400 and decoded(refused)["error"] == "invalid_grant"


def test_key_then_token_then_both_together(app):
    access = signed_in(app)["access_token"]
    path = "/api/v4/systems"
    expected = [
        (api(app, path, access, key=""), "Invalid API key"),
        (api(app, path, access, key="made-up"), "Invalid API key"),
        (api(app, path, None), "Invalid access token"),
        (api(app, path, "made-up"), "Invalid access token"),
        (api(app, path, access, key=OTHER_API_KEY), "API Key -Client mismatch"),
    ]
    for answer, details in expected:
        assert (answer.status, decoded(answer)) == (401, {"message": "Not Authorized", "details": details, "code": 401})
    assert app.month_calls == 0  # refused at the door: not counted
    assert api(app, path, access).status == 200 and app.month_calls == 1
    app.expire_access_tokens()
    assert decoded(api(app, path, access))["details"] == "Invalid access token"


def test_ten_a_minute_on_the_watt_plan(app, world):
    _, fake = world
    access = signed_in(app)["access_token"]
    path = f"/api/v4/systems/{app.system_id}/summary"
    assert [api(app, path, access).status for _ in range(10)] == [200] * 10
    refused = api(app, path, access)
    assert refused.status == 429 and "Retry-After" not in dict(refused.headers)
    body = decoded(refused)
    assert (body["details"], body["period"], body["limit"]) == ("Usage limit exceeded for plan Watt", "minute", 10)
    assert app.refusals == {"minute": 1} and app.month_calls == 10 and app.calls[path] == 11
    fake.advance(60)
    assert api(app, path, access).status == 200
    app.month_calls = 1000
    fake.advance(60)
    assert decoded(api(app, path, access))["period"] == "month"
    assert app.refusals == {"minute": 1, "month": 1}


def test_device_level_data_want_the_kilowatt_plan(app):
    access = signed_in(app)["access_token"]
    latest, battery = (
        f"/api/v4/systems/{app.system_id}/latest_telemetry",
        f"/api/v4/systems/{app.system_id}/telemetry/battery",
    )
    for path in (latest, battery):
        forbidden = api(app, path, access)
        assert (forbidden.status, decoded(forbidden)["message"]) == (403, "Forbidden")
    app.plan = "kilowatt"
    assert api(app, latest, access).status == 200 and api(app, battery, access).status == 200
    with pytest.raises(ValueError, match="plan must be one of"):
        app.plan = "gigawatt"


def test_systems_and_the_serial_lookup(app, world):
    source, _ = world
    access = signed_in(app)["access_token"]
    found = api(app, "/api/v4/systems/retrieve_system_id", access, serial_num=source.serial)
    assert decoded(found) == {"system_id": 1000001}
    assert api(app, "/api/v4/systems/retrieve_system_id", access, serial_num="123").status == 404
    listing = decoded(api(app, "/api/v4/systems", access, page="1", size="5"))
    assert (listing["total"], listing["count"], listing["systems"][0]["system_id"]) == (1, 1, 1000001)
    assert decoded(api(app, "/api/v4/systems", access, page="2"))["systems"] == []
    assert api(app, "/api/v4/systems", access, size="500").status == 422
    other = decoded(api(app, "/api/v4/systems/42/summary", access))
    assert other == {"message": "Not Found", "details": 'System not found for {:id=>"42"}', "code": 404}
    assert api(app, f"/api/v4/systems/{app.system_id}/telemetry/weather", access).status == 404
    assert app.handle(request("GET", "/nowhere")).status == 404
