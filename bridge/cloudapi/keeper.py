"""The cloud API's access token over time: loaded from its file, refreshed ahead of expiry, the
rotated refresh token stored before the new access token is used, and, when the owner's
consent is gone, one ERROR that says `cloud authorize` must be run again (not one per call).

A partner account (`grant: password`) gets its tokens by the password grant instead, whenever
there are none or the refresh token is refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.cloudapi.oauth import RUN_AUTHORIZE, OAuth
from bridge.cloudapi.tokens import CloudTokens, TokenFile
from bridge.config import CloudApiConfig
from bridge.errors import CloudApiAuthExpired

log = logging.getLogger("bridge.cloudapi")

REFRESH_AHEAD_S = 300.0  # a token that expires within 5 minutes is refreshed before use


class TokenKeeper:
    """The access token to send now. Raises CloudApiAuthExpired while consent is missing, and
    CloudApiKeyRefused / CloudApiUnavailable from the OAuth server as they come."""

    def __init__(self, cfg: CloudApiConfig, oauth: OAuth, file: TokenFile, now: Callable[[], float]):
        self.cfg = cfg
        self._oauth = oauth
        self._file = file
        self._now = now
        self._tokens: CloudTokens | None = None
        self._lock = threading.Lock()
        # Consent is gone: said once; the file is read again at each call, so a `cloud
        # authorize` run beside the bridge is picked up without a restart.
        self.needs_authorize = False

    @property
    def tokens(self) -> CloudTokens | None:
        """The tokens in use (their expiry for `cloud status` and diagnostics)."""
        return self._tokens

    def access_token(self) -> str:
        with self._lock:
            tokens = self._current()
            if tokens.access_expires_at - self._now() <= REFRESH_AHEAD_S:
                tokens = self._renewed(tokens)
            return tokens.access_token

    def refresh_now(self, refused: str) -> str:
        """After the API refused `refused` as an invalid access token: a new one, unless
        another thread already has one."""
        with self._lock:
            tokens = self._current()
            if tokens.access_token != refused:
                return tokens.access_token
            return self._renewed(tokens).access_token

    def _current(self) -> CloudTokens:
        if self._tokens is None or self.needs_authorize:
            loaded = self._file.load()
            if loaded is not None and (self._tokens is None or loaded.refresh_token != self._tokens.refresh_token):
                if self.needs_authorize:
                    log.info("cloud API: new tokens found in %s; the cloud source carries on", self._file.path)
                self._tokens, self.needs_authorize = loaded, False
        if self._tokens is None and self.cfg.grant == "password":
            self._store(self._oauth.password_grant())
        if self._tokens is None:
            raise self.consent_gone(f"no cloud API tokens yet in {self._file.path}")
        if self.needs_authorize:
            raise CloudApiAuthExpired(f"cloud API: the owner's consent has expired; {RUN_AUTHORIZE}")
        return self._tokens

    def _renewed(self, tokens: CloudTokens) -> CloudTokens:
        if tokens.refresh_expires_at > self._now():
            try:
                return self._store(self._oauth.refresh(tokens))
            except CloudApiAuthExpired as err:
                if self.cfg.grant != "password":
                    raise self.consent_gone(str(err)) from None
        elif self.cfg.grant != "password":
            raise self.consent_gone("the refresh token has expired (they last 30 days)")
        return self._store(self._oauth.password_grant())

    def _store(self, tokens: CloudTokens) -> CloudTokens:
        # Before the new access token is used: the old refresh token is dead from now on.
        self._file.save(tokens)
        self._tokens = tokens
        return tokens

    def consent_gone(self, why: str) -> CloudApiAuthExpired:
        """The error to raise when consent is gone; the ERROR line only the first time."""
        if not self.needs_authorize:
            self.needs_authorize = True
            log.error("cloud API: %s; %s. The local side carries on.", why, RUN_AUTHORIZE)
        return CloudApiAuthExpired(f"cloud API: {why}; {RUN_AUTHORIZE}")
