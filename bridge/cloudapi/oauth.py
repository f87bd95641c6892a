"""OAuth 2.0 for the cloud API (reference §4.2): the authorize URL, the code the owner pastes
back, and the token calls (code exchange, refresh with rotation, the partner password grant).

Every token call is a POST to `{oauth_url}/oauth/token` with its parameters in the query string
(as Enphase's sample) and `Authorization: Basic base64(client_id:client_secret)`. Token calls do
not count against the plan's quota.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from bridge.cloudapi.http import envelope, timeouts
from bridge.cloudapi.tokens import CloudTokens
from bridge.config import CloudApiConfig
from bridge.errors import CloudApiAuthExpired, CloudApiDataError, CloudApiError, CloudApiKeyRefused, CloudApiUnavailable
from bridge.network_errors import describe_transport_error

REFRESH_TTL_S = 30 * 86400.0  # Enphase's refresh tokens last 30 days (since 2023-10-16); it does not say
RUN_AUTHORIZE = "run `envoy-mqtt-bridge cloud authorize -c CONFIG` again"
CODE_RE = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")


def new_state() -> str:
    """An unguessable `state`: a pasted redirect must come from this authorization."""
    return secrets.token_urlsafe(16)


def authorize_url(cfg: CloudApiConfig, state: str) -> str:
    """Where the system owner gives consent; the redirect then carries the code."""
    query = {
        "response_type": "code",
        "client_id": cfg.client_id or "",
        "redirect_uri": cfg.redirect_uri,
        "state": state,
    }
    return f"{cfg.oauth_url.rstrip('/')}/oauth/authorize?{urlencode(query)}"


def code_from(pasted: str, state: str | None = None) -> str:
    """The code in a pasted redirect URL (or its query), or a bare code. CloudApiError when the
    owner refused, the URL has no code, or its `state` belongs to another authorization."""
    text = pasted.strip()
    if not ("=" in text and ("://" in text or "?" in text or "code=" in text or "error=" in text)):
        if not CODE_RE.fullmatch(text):
            raise CloudApiError("neither a redirect URL (…?code=…) nor a code")
        return text
    query = parse_qs(urlsplit(text).query if "://" in text else text.split("?", 1)[-1])
    if "error" in query:
        error = query["error"][0][:40]
        if error == "access_denied":
            raise CloudApiError("the owner did not give consent (error=access_denied); nothing was stored")
        raise CloudApiError(f"the authorization failed (error={error}); nothing was stored")
    got_state = query.get("state", [None])[0]
    if state is not None and got_state is not None and got_state != state:
        raise CloudApiError("this redirect belongs to another authorization (its state differs): use the new URL")
    code = query.get("code", [""])[0]
    if not CODE_RE.fullmatch(code):
        raise CloudApiError("the URL has no code=…: paste the whole address the browser was sent to")
    return code


class OAuth:
    """The token calls. `now` is the wall clock (epoch s) that dates the tokens."""

    def __init__(self, cfg: CloudApiConfig, session: requests.Session, now: Callable[[], float]):
        self.cfg = cfg
        self._session = session
        self._now = now

    def exchange(self, code: str) -> CloudTokens:
        params = {"grant_type": "authorization_code", "redirect_uri": self.cfg.redirect_uri, "code": code}
        return self._token_call(params, "the authorization code", previous=None)

    def refresh(self, tokens: CloudTokens) -> CloudTokens:
        """New tokens; Enphase rotates the refresh token, so the caller stores them at once."""
        params = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        return self._token_call(params, "the refresh token", previous=tokens)

    def password_grant(self) -> CloudTokens:
        params = {"grant_type": "password", "username": self.cfg.username or "", "password": self.cfg.password or ""}
        return self._token_call(params, "the partner username and password", previous=None)

    def _token_call(self, params: dict[str, str], what: str, previous: CloudTokens | None) -> CloudTokens:
        url = f"{self.cfg.oauth_url.rstrip('/')}/oauth/token"
        auth = (self.cfg.client_id or "", self.cfg.client_secret or "")
        try:
            response = self._session.post(url, params=params, auth=auth, timeout=timeouts(self.cfg))
        except requests.RequestException as err:
            raise CloudApiUnavailable(f"OAuth server unreachable: {describe_transport_error(err)}") from None
        if response.status_code != 200:
            raise _refusal(response, what, params["grant_type"])
        return self._tokens(response, previous)

    def _tokens(self, response: requests.Response, previous: CloudTokens | None) -> CloudTokens:
        try:
            doc: Any = response.json()
        except ValueError:
            raise CloudApiDataError("the OAuth server's answer is not JSON") from None
        access = doc.get("access_token") if isinstance(doc, dict) else None
        expires_in = doc.get("expires_in") if isinstance(doc, dict) else None
        if not isinstance(access, str) or not access or not _is_seconds(expires_in):
            raise CloudApiDataError("the OAuth server's answer has no access_token and expires_in")
        now = self._now()
        refresh = doc.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            refresh_expires = now + REFRESH_TTL_S
        elif previous is not None:  # not rotated this time: the old one stays good
            refresh, refresh_expires = previous.refresh_token, previous.refresh_expires_at
        else:
            raise CloudApiDataError("the OAuth server's answer has no refresh_token")
        return CloudTokens(access, refresh, now + expires_in, refresh_expires, now)


def _refusal(response: requests.Response, what: str, grant: str) -> CloudApiError:
    status = response.status_code
    reply = envelope(response)
    if status >= 500 or status == 429:
        return CloudApiUnavailable(f"OAuth server answered HTTP {status} ({reply.words()})")
    if reply.message == "invalid_client":
        return CloudApiKeyRefused(
            f"the OAuth server refused cloud_api.client_id / client_secret (HTTP {status}, {reply.words()})"
        )
    if grant == "password":
        return CloudApiKeyRefused(f"the OAuth server refused {what} (HTTP {status}, {reply.words()})")
    return CloudApiAuthExpired(f"the OAuth server refused {what} (HTTP {status}, {reply.words()}); {RUN_AUTHORIZE}")


def _is_seconds(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10 * 365 * 86400
