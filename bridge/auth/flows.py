"""The three ways to a token from the Enphase cloud (reference §3.2-3.4), one small strategy each.

- `entrez_json`: Enlighten `login/login.json` -> `session_id` -> `POST {entrez}/tokens` (JSON
  `session_id`, `serial_num`, `username`) -> the raw JWT;
- `enlighten_get`: the same login's `_enlighten_4_session` cookie (= the session id) ->
  `GET {enlighten}/entrez-auth-token?serial_num=` -> JSON `{token, expires_at, generation_time}`;
- `entrez_form`: `POST {entrez}/login` (form `username`, `password`) -> `SESSION` cookie ->
  `POST {entrez}/entrez_tokens` (form `serialNum`) -> an HTML page, the token in a `<textarea>`.

A flow gets an `Attempt` (the cloud, the account, the gateway and the logins of this fetch)
and returns the raw token text; `fallback` checks it offline. It raises CloudMFARequired when
the account wants a one-time code, CloudAuthError when the cloud refuses or answers something
else than the flow expects, CloudUnavailable when it cannot reach the cloud.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from bridge.auth.replies import asks_for_code, redirect_note, sanitise, short_message
from bridge.errors import CloudAuthError, CloudError, CloudMFARequired

if TYPE_CHECKING:
    from bridge.auth.cloud import EnphaseCloud

log = logging.getLogger(__name__)

ENLIGHTEN, ENTREZ = "enlighten", "entrez"  # the two services whose logins are kept a while
ENLIGHTEN_COOKIE = "_enlighten_4_session"
ENTREZ_COOKIE = "SESSION"
PAGE_MAX = 1024 * 1024  # the token page is a few KiB; nothing beyond this is searched
TOKEN_FIELDS = ("token", "expires_at", "generation_time")
_TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea\s*>", re.IGNORECASE | re.DOTALL)


class Attempt:
    """One fetch of a token: the cloud, the account, the gateway, and the logins made for it.

    Each service is logged in to at most once (a login that failed fails every flow that needs
    it, without another try); a kept session that is refused gets one fresh login.
    """

    def __init__(self, cloud: EnphaseCloud, username: str, password: str, serial: str):
        self.cloud, self.username, self.serial = cloud, username, serial
        self._password = password
        self._fresh: set[str] = set()
        self._failed: dict[str, CloudError] = {}

    def with_session(self, service: str, ask: Callable[[str], str]) -> str:
        """`ask(session)` with the service's kept session, else a new login."""
        session = self.cloud.cached_session(service, self.username)
        reused = session is not None and service not in self._fresh
        try:
            return ask(session or self._login(service))
        except CloudAuthError:
            if not reused:
                raise
            log.debug("the kept %s session of %s was refused; logging in again", service, self.username)
            self.cloud.drop_session(service, self.username)
            return ask(self._login(service))

    def _login(self, service: str) -> str:
        if service in self._failed:
            raise self._failed[service]
        try:
            if service == ENLIGHTEN:
                session = self.cloud.enlighten_login(self.username, self._password)
            else:
                session = entrez_login(self.cloud, self.username, self._password)
        except CloudError as err:
            self._failed[service] = err
            raise
        self._fresh.add(service)
        self.cloud.keep_session(service, self.username, session)
        return session


def entrez_json(attempt: Attempt) -> str:
    url = attempt.cloud.cfg.entrez_url.rstrip("/") + "/tokens"

    def ask(session_id: str) -> str:
        body = {"session_id": session_id, "serial_num": attempt.serial, "username": attempt.username}
        resp = attempt.cloud.send("Entrez /tokens", "POST", url, json=body)
        _expect_200(
            resp,
            "Entrez /tokens",
            f" (is gateway {attempt.serial} registered to the Enlighten account {attempt.username}?)",
        )
        return resp.text.strip()

    return attempt.with_session(ENLIGHTEN, ask)


def enlighten_get(attempt: Attempt) -> str:
    url = attempt.cloud.cfg.enlighten_url.rstrip("/") + "/entrez-auth-token"

    def ask(session_id: str) -> str:
        headers = {"Accept": "application/json", "Cookie": f"{ENLIGHTEN_COOKIE}={session_id}"}
        params = {"serial_num": attempt.serial}
        resp = attempt.cloud.send("Enlighten /entrez-auth-token", "GET", url, params=params, headers=headers)
        _expect_200(resp, "Enlighten /entrez-auth-token")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise CloudAuthError("Enlighten /entrez-auth-token: HTTP 200, but the answer is not a JSON object")
        missing = [name for name in TOKEN_FIELDS if name not in doc]
        if missing:
            raise CloudAuthError(
                f"Enlighten /entrez-auth-token: HTTP 200 without {', '.join(missing)}{short_message(resp)}"
            )
        if not isinstance(doc["token"], str):
            raise CloudAuthError("Enlighten /entrez-auth-token: HTTP 200, but its `token` is not text")
        return doc["token"]

    return attempt.with_session(ENLIGHTEN, ask)


def entrez_form(attempt: Attempt) -> str:
    url = attempt.cloud.cfg.entrez_url.rstrip("/") + "/entrez_tokens"

    def ask(session: str) -> str:
        headers = {"Cookie": f"{ENTREZ_COOKIE}={session}"}
        resp = attempt.cloud.send(
            "Entrez /entrez_tokens", "POST", url, data={"serialNum": attempt.serial}, headers=headers
        )
        _expect_200(resp, "Entrez /entrez_tokens")
        return _token_on_page(resp)

    return attempt.with_session(ENTREZ, ask)


FLOWS: dict[str, Callable[[Attempt], str]] = {
    "entrez_json": entrez_json,
    "enlighten_get": enlighten_get,
    "entrez_form": entrez_form,
}


def entrez_login(cloud: EnphaseCloud, username: str, password: str) -> str:
    """`POST {entrez}/login` (form): the `SESSION` cookie."""
    url = cloud.cfg.entrez_url.rstrip("/") + "/login"
    form = {"username": username, "password": password}
    resp = cloud.send("Entrez login", "POST", url, data=form, headers={"Accept": "application/json"})
    session = resp.cookies.get(ENTREZ_COOKIE)
    if (resp.status_code >= 400 or not session) and asks_for_code(resp):
        raise CloudMFARequired(f"Entrez asks {username} for a one-time code")
    if resp.status_code >= 400:
        raise CloudAuthError(
            f"Entrez refused the login for {username}: HTTP {resp.status_code}{short_message(resp)}"
            " (check the Enlighten e-mail and password)"
        )
    if not session:
        raise CloudAuthError(f"Entrez login for {username}: HTTP {resp.status_code}{redirect_note(resp)}, no session")
    return session


def _expect_200(resp: requests.Response, what: str, hint: str = "") -> None:
    if resp.status_code != 200:
        raise CloudAuthError(f"{what}: HTTP {resp.status_code}{short_message(resp)}{redirect_note(resp)}{hint}")


def _token_on_page(resp: requests.Response) -> str:
    """The text of the page's token `<textarea>` (MAT's needle: name="accessToken" id="JWTToken"; any will do)."""
    page = resp.content[:PAGE_MAX].decode("utf-8", "replace")
    areas = _TEXTAREA.findall(page)
    if not areas:
        if asks_for_code(resp):
            raise CloudMFARequired("Entrez asks for a one-time code instead of showing the token")
        raise CloudAuthError("Entrez /entrez_tokens: HTTP 200, but the page holds no token")
    _, text = next((area for area in areas if "JWTToken" in area[0] or "accessToken" in area[0]), areas[0])
    text = html.unescape(text).strip()
    if text[:5].lower() == "error":
        raise CloudAuthError(f"Entrez /entrez_tokens: HTTP 200, the page says {sanitise(text)!r}")
    return text
