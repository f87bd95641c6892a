"""The HTTP side of the cloud API (reference §4.5): one GET with the API key and the access
token, inside the request budget, and its answer as JSON or as the error that says what to do.

Every call carries `?key=<api_key>` and `Authorization: Bearer <access token>`. The budget is
asked before each send, a retry included: nothing goes out that the plan's limits would
refuse. A 401 "Invalid access token" gets one refresh and one retry; a 401/403 about the key or
the client is CloudApiKeyRefused (the source stops); a 401 "User is not authorized" means the
owner's consent is gone; any other 403 is an endpoint outside the plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from bridge.cloudapi.budget import Budget
from bridge.cloudapi.http import Envelope, envelope, timeouts
from bridge.cloudapi.keeper import TokenKeeper
from bridge.config import CloudApiConfig
from bridge.errors import (
    CloudApiDataError,
    CloudApiError,
    CloudApiKeyRefused,
    CloudApiNotFound,
    CloudApiNotInPlan,
    CloudApiQuota,
    CloudApiUnavailable,
    EnvoyDataError,
)
from bridge.model import decode_json
from bridge.network_errors import describe_transport_error

MAX_BODY_BYTES = 4 * 1024 * 1024  # a week of 15-minute intervals is well under 100 kB


class CloudApiClient:
    """GET `{api_url}/api/v4/...` within the budget. Not thread-safe beyond the keeper's lock:
    the cloud source calls it from one thread."""

    def __init__(
        self,
        cfg: CloudApiConfig,
        keeper: TokenKeeper,
        budget: Budget,
        session: requests.Session,
        now: Callable[[], float] = time.time,
    ):
        self.cfg = cfg
        self._keeper = keeper
        self._budget = budget
        self._session = session
        self._now = now

    def get(self, path: str, params: Mapping[str, str | int] | None = None, *, urgent: bool = False) -> Any:
        """The decoded JSON of `GET /api/v4/<path>`. Raises the CloudApiError subclass that says
        what to do: Quota (later), KeyRefused / AuthExpired (stop), NotInPlan, NotFound,
        Unavailable, DataError."""
        token = self._keeper.access_token()
        response = self._send(path, params, token, urgent=urgent)
        if response.status_code == 401 and "access token" in envelope(response).details.lower():
            token = self._keeper.refresh_now(token)
            # The same call again: within the limits, outside the spread (it had its turn).
            response = self._send(path, params, token, urgent=True)
        return self._answer(path, response)

    def _send(self, path: str, params: Mapping[str, str | int] | None, token: str, urgent: bool) -> requests.Response:
        now = self._now()
        if not self._budget.take(now, urgent):
            retry_at = self._budget.next_allowed(now, urgent)
            raise CloudApiQuota(f"cloud API budget: the next call may go in {retry_at - now:.0f} s", retry_at)
        url = f"{self.cfg.api_url.rstrip('/')}/api/v4/{path.lstrip('/')}"
        query = {**(params or {}), "key": self.cfg.api_key or ""}
        try:
            response = self._session.get(
                url, params=query, headers={"Authorization": f"Bearer {token}"}, timeout=timeouts(self.cfg)
            )
        except requests.RequestException as err:
            raise CloudApiUnavailable(f"cloud API unreachable: {describe_transport_error(err)}") from None
        if response.status_code == 429:
            reply = envelope(response)
            self._budget.refused(now, reply.period or "minute", reply.period_end)
            retry_at = self._budget.next_allowed(self._now())
            raise CloudApiQuota(f"cloud API: HTTP 429 ({reply.words()}) for {path}", retry_at)
        self._budget.answered()
        return response

    def _answer(self, path: str, response: requests.Response) -> Any:
        status = response.status_code
        if status == 200:
            return _decoded(path, response)
        reply = envelope(response)
        raise _refusal(path, status, reply, self._keeper)


def _decoded(path: str, response: requests.Response) -> Any:
    body = response.content
    if len(body) > MAX_BODY_BYTES:
        raise CloudApiDataError(f"cloud API {path}: the answer is over {MAX_BODY_BYTES // 1024} KiB")
    try:
        return decode_json(path, body)
    except EnvoyDataError as err:
        raise CloudApiDataError(f"cloud API {err}") from None


def _refusal(path: str, status: int, reply: Envelope, keeper: TokenKeeper) -> CloudApiError:
    details = reply.details.lower()
    what = f"cloud API {path}: HTTP {status} ({reply.words()})"
    if status in (401, 403) and ("key" in details or "client" in details):
        return CloudApiKeyRefused(f"{what}: check cloud_api.api_key, client_id and client_secret")
    if status == 401 and ("not authorized" in details or "access token" in details):
        return keeper.consent_gone(f"the API refused the owner's authorization ({reply.words()})")
    if status == 401:
        return CloudApiKeyRefused(f"{what}: check cloud_api.api_key, client_id and client_secret")
    if status == 403:
        return CloudApiNotInPlan(f"{what}: not in your application's plan")
    if status == 404:
        return CloudApiNotFound(what)
    if status >= 500:
        return CloudApiUnavailable(what)
    return CloudApiError(what)
