"""The cloud API tests' configuration, clock and `responses` replies (reference §4.2, §4.5)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import responses

from bridge.cloudapi import CloudApiPaths, CloudApiSource
from bridge.cloudapi.tokens import CloudTokens, TokenFile
from bridge.config import CloudApiConfig, Config, GatewayConfig
from tests.support.clock import FakeClock

API = "https://api.test"
TOKEN_URL = f"{API}/oauth/token"
KEY, CLIENT, SECRET = "key-0123456789", "client-0123456789", "secret-0123456789"
SERIAL, SYSTEM = "202312345678", 4242
SUMMARY = {
    "system_id": SYSTEM,
    "current_power": 755,
    "energy_today": 12000,
    "energy_lifetime": 9_000_000,
    "last_report_at": 1_767_221_100,
    "last_interval_end_at": 1_767_221_100,
    "modules": 20,
    "size_w": 8000,
    "source": "meter",
    "status": "normal",
    "summary_date": "2025-12-31",
}


def api_config(**changes) -> CloudApiConfig:
    base = {"api_key": KEY, "client_id": CLIENT, "client_secret": SECRET, "api_url": API, "oauth_url": API}
    return CloudApiConfig(**(base | changes))


def config(tmp_path: Path, **changes) -> Config:
    gateway = GatewayConfig(host="envoy.local", serial=SERIAL, insecure=True)
    return Config(gateways=(gateway,), cache_dir=tmp_path / "cache", cloud_api=api_config(**changes))


def tokens(clock: FakeClock, n: int = 1, access_ttl: float = 86393) -> CloudTokens:
    now = clock()
    return CloudTokens(f"access-{n}-abcdefgh", f"refresh-{n}-abcdefgh", now + access_ttl, now + 30 * 86400, now)


def saved_tokens(tmp_path: Path, clock: FakeClock, **kwargs) -> TokenFile:
    file = TokenFile(CloudApiPaths.in_dir(tmp_path / "cache").tokens)
    assert file.save(tokens(clock, **kwargs))
    return file


def source(tmp_path: Path, clock: FakeClock, **changes) -> CloudApiSource:
    return CloudApiSource(config(tmp_path, **changes), now=clock)


def token_reply(n: int, expires_in: int = 86393) -> dict[str, object]:
    return {
        "access_token": f"access-{n}-abcdefgh",
        "token_type": "bearer",
        "refresh_token": f"refresh-{n}-abcdefgh",
        "expires_in": expires_in,
        "scope": "read write",
        "jti": "x",
    }


def query(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url or "").query).items()}


def api_calls(rsps: responses.RequestsMock) -> list[responses.Call]:
    return [c for c in rsps.calls if "/api/v4/" in (c.request.url or "")]


def envelope(status: int, message: str, details: str, **extra: object) -> dict[str, object]:
    return {"status": status, "body": json.dumps({"message": message, "details": details, "code": status, **extra})}
