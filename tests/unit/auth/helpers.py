"""The auth tests' scripted Enphase cloud (`responses`): the URLs of the three token flows, their
good answers, and a cloud client on fake time."""

from __future__ import annotations

import html

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.tokens import DAY_S
from bridge.config import CloudConfig
from bridge.config.schema import TOKEN_FLOWS
from tests.support.tokens import NOW, PASSWORD, SERIAL, USER, make_token

ENLIGHTEN = "https://enlighten.test"
ENTREZ = "https://entrez.test"
LOGIN = f"{ENLIGHTEN}/login/login.json"
TOKENS = f"{ENTREZ}/tokens"
AUTH_TOKEN = f"{ENLIGHTEN}/entrez-auth-token"
ENTREZ_LOGIN = f"{ENTREZ}/login"
ENTREZ_TOKENS = f"{ENTREZ}/entrez_tokens"
SESSION_ID = "0123456789abcdef0123456789abcdef"
ENTREZ_SESSION = "5e55104c-entrez-session-cookie-value-77"
TOKEN = make_token(365 * DAY_S)
OK_LOGIN = {"message": "success", "session_id": SESSION_ID, "manager_token": "m", "is_consumer": True}
# What must never appear in a log record or an error message.
SECRETS = (PASSWORD, SESSION_ID, ENTREZ_SESSION, TOKEN, "eyJ")


def make_cloud(sleeps: list[float], flows: tuple[str, ...] = TOKEN_FLOWS, monotonic=None) -> EnphaseCloud:
    config = CloudConfig(enlighten_url=ENLIGHTEN, entrez_url=ENTREZ, timeout=30, token_flows=flows)
    if monotonic is None:
        return EnphaseCloud(config, sleep=sleeps.append)
    return EnphaseCloud(config, sleep=sleeps.append, monotonic=monotonic)


def fetch(cloud: EnphaseCloud, flows=None, serial: str = SERIAL):
    return cloud.fetch_token(USER, PASSWORD, serial, now=NOW, flows=flows)


def enlighten_ok(rsps) -> None:
    cookie = f"_enlighten_4_session={SESSION_ID}; path=/; secure; HttpOnly"
    rsps.post(LOGIN, json=OK_LOGIN, headers={"Set-Cookie": cookie})


def entrez_json_ok(rsps, token: str = TOKEN) -> None:
    enlighten_ok(rsps)
    rsps.post(TOKENS, body=token + "\n", content_type="text/plain")


def enlighten_get_ok(rsps, token: str = TOKEN) -> None:
    enlighten_ok(rsps)
    rsps.get(AUTH_TOKEN, json={"generation_time": int(NOW), "token": token, "expires_at": int(NOW + 365 * DAY_S)})


def entrez_login_ok(rsps) -> None:
    rsps.post(ENTREZ_LOGIN, json={"message": "success"}, headers={"Set-Cookie": f"SESSION={ENTREZ_SESSION}; Path=/"})


def entrez_form_ok(rsps, token: str = TOKEN) -> None:
    entrez_login_ok(rsps)
    rsps.post(ENTREZ_TOKENS, body=token_page(token), content_type="text/html")


def token_page(text: str) -> str:
    """Entrez's token page as MAT and VW scrape it: the token in a <textarea>."""
    return (
        "<!DOCTYPE html><html><body><h1>Generate token</h1><form><label>Token</label>"
        f'<textarea name="accessToken" id="JWTToken" cols="30" rows="10" >{html.escape(text)}</textarea>'
        "</form></body></html>"
    )


def no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
