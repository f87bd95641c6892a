"""One request onto the gateway's session; a repeated poll straight onto its urllib3 pool.

requests' `Session.request` merges the session's settings into every call, prepares the request
again, runs hooks and offers each answer to a cookie jar (which stores nothing here: the
session cookie is kept by hand); its `HTTPAdapter.send` then checks the TLS settings, builds a
timeout and wraps the answer in a `requests.Response`. On a poll that asks what the poll before
it asked, those layers are CPU spent on nothing new (`bench/run.py --only endpoints`, row "HTTP
client CPU per request"). So:

- a GET without `auth` is prepared as `Session.request` would, once per method and URL while
  its headers stay the same; its first exchange goes through the adapter's `send` (which makes
  and sets up the URL's pool), every later one straight to that pool's `urlopen`, with what
  `send` would pass it but `retries=False`: urllib3 then raises the cause itself (not wrapped
  in MaxRetryError), which the transport classifies as it does requests' errors. The pool is the
  adapter's own: its connections check the pinned certificate and tell the ConnectionTracker
  which one is in flight (tls.py), so the deadline's cut works the same;
- a write (its body is its own every time) goes to the adapter's `send`, prepared anew;
- digest auth, which answers its challenge on requests' response hooks, takes `Session.request`.

Either way the answer is urllib3's, its body still to read; redirects are never followed. An
adapter whose `send` is not requests' own (a test double, or `responses` patching
`HTTPAdapter.send` in unit tests) sees every request: the pool is used only under requests' `send`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests import PreparedRequest
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.auth import AuthBase
from urllib3 import BaseHTTPResponse, Timeout
from urllib3.connectionpool import HTTPConnectionPool

Headers = tuple[tuple[str, str], ...]

_REQUESTS_SEND = HTTPAdapter.send  # as imported: `responses` replaces it while a test runs


@dataclass(frozen=True, slots=True)
class _Poll:
    """A GET as it went out the first time, and where its repeats go."""

    headers: Headers  # the caller's, to see when they change (a new session cookie)
    request: PreparedRequest
    sent: dict[str, str]  # its headers, the session's merged in: a plain dict is quicker for urllib3 to walk
    adapter: BaseAdapter
    pool: HTTPConnectionPool | None  # None: this adapter gets every request itself


class Wire:
    def __init__(self, session: requests.Session, timeout: tuple[float, float]):
        self.session = session
        # What Session.request adds to every call: the session's TLS setting, no proxies (trust_env is off).
        self._options: dict[str, Any] = {"timeout": timeout, "stream": True, "verify": session.verify, "proxies": {}}
        self._timeout = Timeout(connect=timeout[0], read=timeout[1])  # what HTTPAdapter.send makes of it
        self._polls: dict[tuple[str, str], _Poll] = {}  # one per endpoint read

    def close(self) -> None:
        """Forget the pools (the session closes them) and close the session."""
        self._polls.clear()
        self.session.close()

    def send(
        self, url: str, headers: dict[str, str], auth: AuthBase | None, method: str, body: bytes | None
    ) -> BaseHTTPResponse:
        """The answer, its body still to read."""
        if auth is not None:
            return self.session.request(
                method, url, data=body, headers=headers, auth=auth, allow_redirects=False, **self._options
            ).raw
        if body is not None:
            prepared = self._prepare(method, url, headers, body)
            return self.session.get_adapter(url).send(prepared, **self._options).raw
        poll = self._polls.get((method, url))
        if poll is None or poll.headers != tuple(headers.items()):
            return self._first(method, url, headers)
        if poll.pool is None or type(poll.adapter).send is not _REQUESTS_SEND:
            return poll.adapter.send(poll.request, **self._options).raw
        return poll.pool.urlopen(
            method,
            poll.request.path_url,
            headers=poll.sent,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=False,  # the transport retries; urllib3's own errors, unwrapped
            timeout=self._timeout,
            chunked=False,
        )

    def _first(self, method: str, url: str, headers: dict[str, str]) -> BaseHTTPResponse:
        """A GET through the adapter's `send`, kept with its pool for the next poll."""
        prepared = self._prepare(method, url, headers, None)
        adapter = self.session.get_adapter(url)
        answer = adapter.send(prepared, **self._options).raw
        pool = None
        if isinstance(adapter, HTTPAdapter) and type(adapter).send is _REQUESTS_SEND:
            # The pool `send` just used (adapters keep theirs): its TLS settings are set up.
            found = adapter.get_connection_with_tls_context(prepared, self.session.verify, proxies={})
            pool = found if isinstance(found, HTTPConnectionPool) else None
        self._polls[(method, url)] = _Poll(tuple(headers.items()), prepared, dict(prepared.headers), adapter, pool)
        return answer

    def _prepare(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> PreparedRequest:
        """The request as `Session.request` prepares it (the session's headers merged in)."""
        return self.session.prepare_request(requests.Request(method, url, headers=headers, data=body))
