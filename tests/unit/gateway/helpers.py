"""The gateway tests' fakes: a scripted gateway and cloud (`responses`), a client on a fake clock."""

from __future__ import annotations

import requests
import responses

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.config import CloudConfig, GatewayConfig
from bridge.gateway.client import EnvoyClient
from bridge.gateway.transport import Reply
from tests.support.tokens import PASSWORD, SERIAL, USER

HOST = "envoy.test"
BASE = f"https://{HOST}"
INFO, CHECK, DATA = f"{BASE}/info", f"{BASE}/auth/check_jwt", f"{BASE}/ivp/meters/readings"
LOGIN, TOKENS = "https://enlighten.test/login/login.json", "https://entrez.test/tokens"


def info_xml(serial: str = SERIAL, software: str = "D8.2.127", web_tokens: bool = True) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><envoy_info><device><sn>{serial}</sn><pn>800-00654-r08</pn>"
        f"<software>{software}</software><imeter>true</imeter></device>"
        f"<web-tokens>{'true' if web_tokens else 'false'}</web-tokens></envoy_info>"
    ).encode()


def make_client(fake, tmp_path=None, cached=None, **gw):
    settings = {"host": HOST, "scheme": "https", "username": USER, "password": PASSWORD, "fingerprint": "ab" * 32}
    settings.update(gw)
    store = None
    if tmp_path is not None:
        store = TokenStore(tmp_path / "token")
        if cached:
            store.save(cached)
    cloud = EnphaseCloud(
        CloudConfig(enlighten_url="https://enlighten.test", entrez_url="https://entrez.test"),
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )
    return EnvoyClient(
        GatewayConfig(**settings), cloud, store, sleep=fake.sleep, monotonic=fake.monotonic, clock=fake.time
    )


def gateway_ok(rsps, session="sess-1", data_status=200):
    rsps.get(INFO, body=info_xml())
    rsps.get(
        CHECK,
        body="<!DOCTYPE html><h2>Valid token.</h2>",
        headers={"Set-Cookie": f"sessionId={session}; Path=/; Secure; HttpOnly"},
    )
    rsps.get(DATA, status=data_status, json={"ok": True})


def cloud_ok(rsps, token):
    rsps.post(LOGIN, json={"message": "success", "session_id": "0123456789abcdef0123456789abcdef"})
    rsps.post(TOKENS, body=token)


def urls(rsps):
    return [call.request.url for call in rsps.calls]


def digest_gateway(rsps, seen):
    challenge = {"WWW-Authenticate": 'Digest realm="enphaseenergy.com", nonce="abc123", qop="auth"'}

    def data(request):
        header = request.headers.get("Authorization", "")
        seen.append(header.split(" ", 1)[0])
        if header.startswith("Digest ") and 'username="envoy"' in header:
            return 200, {}, b'{"wattsNow": 1}'
        return 401, challenge, b""

    rsps.get("https://envoy.test/info", body=requests.exceptions.ConnectionError("Connection refused"))
    rsps.get("http://envoy.test/info", body=info_xml(software="R5.0.62", web_tokens=False))
    rsps.add_callback(responses.GET, "http://envoy.test/api/v1/production", callback=data)


class Recorded:
    """A `send` that answers every request with `status` and remembers what went out."""

    def __init__(self, status: int = 200, session_id: str | None = None):
        self.status, self.session_id = status, session_id
        self.sent: list[tuple[str, dict[str, str], object]] = []
        self.methods: list[str] = []
        self.bodies: list[bytes | None] = []  # what each request carried (None: a GET)

    def __call__(self, path, headers, auth=None, method="GET", body=None):
        self.sent.append((path, dict(headers), auth))
        self.methods.append(method)
        self.bodies.append(body)
        return Reply(self.status, b"{}", None, self.session_id)
