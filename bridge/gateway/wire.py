"""One request onto the gateway's session: straight to its adapter, prepared once per URL.

requests' `Session.request` merges the session's settings into every call, prepares the request
again, runs hooks and offers each answer to a cookie jar (which stores nothing here: the
session cookie is kept by hand). On a poll that asks what the poll before it asked, that costs
more CPU than the exchange (bench/README.md). So a request without `auth` goes to the adapter
with a request prepared as `Session.request` would, kept per method and URL while its headers
stay the same; digest auth, which answers its challenge on requests' response hooks, takes the
whole Session path. Redirects are never followed either way.
"""

from __future__ import annotations

from typing import Any

import requests
from requests import PreparedRequest
from requests.auth import AuthBase

Headers = tuple[tuple[str, str], ...]


class Wire:
    def __init__(self, session: requests.Session, timeout: tuple[float, float]):
        self.session = session
        # What Session.request adds to every call: the session's TLS setting, no proxies (trust_env is off).
        self._options: dict[str, Any] = {"timeout": timeout, "stream": True, "verify": session.verify, "proxies": {}}
        self._prepared: dict[tuple[str, str], tuple[Headers, PreparedRequest]] = {}  # one per endpoint read

    def send(
        self, url: str, headers: dict[str, str], auth: AuthBase | None, method: str, body: bytes | None
    ) -> requests.Response:
        """The answer, its body still to read (`stream`)."""
        if auth is not None:
            return self.session.request(
                method, url, data=body, headers=headers, auth=auth, allow_redirects=False, **self._options
            )
        return self.session.get_adapter(url).send(self.prepared(method, url, headers, body), **self._options)

    def prepared(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> PreparedRequest:
        """The request as `Session.request` prepares it; a GET's is kept for the next poll (a new
        session cookie replaces it). A write's body is its own every time."""
        key, shown = (method, url), tuple(headers.items())
        kept = self._prepared.get(key) if body is None else None
        if kept is not None and kept[0] == shown:
            return kept[1]
        prepared = self.session.prepare_request(requests.Request(method, url, headers=headers, data=body))
        if body is None:
            self._prepared[key] = (shown, prepared)
        return prepared
