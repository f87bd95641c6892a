"""The fake Enlighten Systems API v4 (reference §4): OAuth and the Monitoring API on one loopback
HTTPS server of its own (`Simulator(cloud_api=True)`, `sim.cloud_api_url`): point a client's
`oauth_url` and `api_url` at it.

- GET /oauth/authorize?response_type=code&client_id=&redirect_uri=&state= -> 302 to redirect_uri
  with ?code=&state= at once (consent given), or ?error=access_denied with `deny`; the real default
  redirect_uri (api.enphaseenergy.com/oauth/redirect_uri) is this server's /oauth/redirect_uri page;
- POST /oauth/token (parameters in the query or a form body; Basic client_id:client_secret):
  grant_type authorization_code, refresh_token (rotates) or password (the simulator's cloud account);
- GET /api/v4/systems, /systems/retrieve_system_id?serial_num=, /systems/{id}/summary,
  /latest_telemetry, /telemetry/production_meter|consumption_meter|battery (cloudapi_data.py).

Every API call needs `?key=` and a bearer token of the same application; checked in that order
(401 envelopes), then the plan's quota (429, not counted), then the route. Time is the
simulator's clock: token lifetimes, quota windows and the data's last report.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from bridge.simulator import cloudapi_replies as replies
from bridge.simulator.cloudapi_data import KINDS, SystemData
from bridge.simulator.cloudapi_limits import PLANS, Quota, check_plan
from bridge.simulator.cloudapi_oauth import Grant, OAuthError, OAuthGrants
from bridge.simulator.cloudapi_replies import ApiError
from bridge.simulator.cloudapi_window import query_values
from bridge.simulator.httpd import Request, Response

# Demo credentials: public, like the simulator's certificates; they protect nothing.
DEFAULT_API_KEY = "simulator-api-key"
DEFAULT_CLIENT_ID = "simulator-client-id"
DEFAULT_CLIENT_SECRET = "simulator-client-secret"  # noqa: S105 - public test material
OTHER_API_KEY = "simulator-other-app-key"  # a key of another application: "API Key -Client mismatch"
DEFAULT_SYSTEM_ID = 1000001  # the system_id the fake Enlighten login also names
ACCESS_TTL_S = 86393.0
REFRESH_TTL_S = 30 * 86400.0
DEFAULT_REDIRECT = "https://api.enphaseenergy.com/oauth/redirect_uri"
CODE_PAGE = "/oauth/redirect_uri"
_SYSTEM_PATH = re.compile(r"/api/v4/systems/(\d{1,12})/(summary|latest_telemetry|telemetry/([a-z_]+))")
_DEVICE_LEVEL = ("latest_telemetry", "battery")  # not on the Watt plan


class CloudApiApp:
    """Knobs: plan, deny, api_key, client_id, client_secret, system_id, access_ttl_s, refresh_ttl_s.
    Handles: calls, month_calls, refusals, expire_access_tokens, expire_refresh_tokens, data."""

    def __init__(self, data: SystemData, serial: str, account: tuple[str, str], now: Callable[[], float]):
        self.data, self.serial, self._account = data, serial, account
        self._plan, self.deny = "watt", False
        self.api_key, self.client_id, self.client_secret = DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
        self.system_id = DEFAULT_SYSTEM_ID
        self.access_ttl_s, self.refresh_ttl_s = ACCESS_TTL_S, REFRESH_TTL_S
        self.oauth, self.quota = OAuthGrants(now), Quota(now)
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._refusals: Counter[str] = Counter()
        self._routes: dict[str, tuple[str, Callable[[Request, dict[str, str]], Response]]] = {
            "/oauth/authorize": ("GET", self._authorize),
            "/oauth/token": ("POST", self._token),
            CODE_PAGE: ("GET", lambda _, p: replies.code_page(p.get("code", ""), p.get("error", ""))),
        }

    @property
    def plan(self) -> str:
        return self._plan

    @plan.setter
    def plan(self, plan: str) -> None:
        """watt or kilowatt: the quota and whether device-level data are served."""
        check_plan(plan)
        self._plan = plan

    # --- handles for tests ----------------------------------------------------------------------

    @property
    def calls(self) -> dict[str, int]:
        """Every request received, per path (query left out), whatever its answer."""
        with self._lock:
            return dict(self._calls)

    @property
    def refusals(self) -> dict[str, int]:
        """429s answered, per period ("minute", "month"): {} when the client kept to its budget."""
        with self._lock:
            return dict(self._refusals)

    @property
    def month_calls(self) -> int:
        """API calls counted against this calendar month's quota."""
        return self.quota.month_calls

    @month_calls.setter
    def month_calls(self, calls: int) -> None:
        self.quota.use_month(calls)

    def expire_access_tokens(self) -> None:
        self.oauth.expire_access_tokens()

    def expire_refresh_tokens(self) -> None:
        self.oauth.expire_refresh_tokens()

    # --- requests -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            self._calls[request.path] += 1
        params = query_values(request.query)
        if request.path.startswith("/api/v4/"):
            return self._api(request, params)
        route = self._routes.get(request.path)
        if route is None:
            return replies.envelope(404, f"No route for {request.path[:80]}")
        method, serve = route
        return serve(request, params) if request.method == method else replies.method_not_allowed()

    # --- OAuth ----------------------------------------------------------------------------------

    def _authorize(self, _: Request, params: dict[str, str]) -> Response:
        if params.get("response_type") != "code":
            return replies.oauth_error(OAuthError(400, "unsupported_response_type", "response_type must be code"))
        if params.get("client_id") != self.client_id:
            return replies.oauth_error(OAuthError(400, "invalid_request", "Unknown client_id"))
        redirect_uri = params.get("redirect_uri") or DEFAULT_REDIRECT
        state = {"state": params["state"]} if "state" in params else {}
        # The real default page is this server's: a redirect must never leave loopback.
        target = CODE_PAGE if redirect_uri == DEFAULT_REDIRECT else redirect_uri
        if self.deny:
            return replies.redirect(target, {"error": "access_denied", **state})
        return replies.redirect(target, {"code": self.oauth.new_code(self.client_id, redirect_uri), **state})

    def _token(self, request: Request, params: dict[str, str]) -> Response:
        if "x-www-form-urlencoded" in (request.headers.get("Content-Type") or ""):
            params = {**query_values(request.body.decode("utf-8", "replace")), **params}
        try:
            client = self._client(request)
            grant = self._grant(client, params)
        except OAuthError as err:
            return replies.oauth_error(err)
        return replies.token_reply(self._token_body(grant))

    def _client(self, request: Request) -> str:
        """The client_id of a good Basic header; invalid_client otherwise."""
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or (client_id, secret) != (self.client_id, self.client_secret):
            raise OAuthError(401, "invalid_client", "Bad client credentials")
        return client_id

    def _grant(self, client: str, params: dict[str, str]) -> Grant:
        ttls = (self.access_ttl_s, self.refresh_ttl_s)
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            return self.oauth.exchange_code(client, params.get("code", ""), params.get("redirect_uri", ""), ttls)
        if grant_type == "refresh_token":
            return self.oauth.refresh(client, params.get("refresh_token", ""), ttls)
        if grant_type == "password":
            user, password = self._account
            if params.get("username", "").lower() != user.lower() or params.get("password") != password:
                raise OAuthError(400, "invalid_grant", "Bad credentials")
            return self.oauth.issue(client, ttls)
        raise OAuthError(
            400, "unsupported_grant_type", "grant_type must be authorization_code, refresh_token or password"
        )

    def _token_body(self, grant: Grant) -> dict[str, Any]:
        return {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "refresh_token": grant.refresh_token,
            "expires_in": grant.expires_in,
            "scope": "read write",
            "enl_uid": "1000101",
            "enl_cid": "5",
            "enl_password_last_changed": "1638870641",
            "is_internal_app": False,
            "app_type": "system",
            "jti": grant.jti,
        }

    # --- the Monitoring API ---------------------------------------------------------------------------

    def _api(self, request: Request, params: dict[str, str]) -> Response:
        refused = self._gate(request, params)
        if refused is not None:
            return refused
        if request.method != "GET":
            return replies.method_not_allowed()
        try:
            return replies.data(self._route(request.path, params))
        except ApiError as err:
            return replies.api_error(err)

    def _gate(self, request: Request, params: dict[str, str]) -> Response | None:
        """The 401s (key, then token, then the two together) and the quota's 429."""
        apps = {self.api_key: self.client_id, OTHER_API_KEY: "another-application"}
        key_client = apps.get(params.get("key", ""))
        if key_client is None:
            return replies.envelope(401, replies.INVALID_KEY)
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        client = self.oauth.client_of(token) if scheme.lower() == "bearer" and token else None
        if client is None:
            return replies.envelope(401, replies.INVALID_TOKEN)
        if client != key_client:
            return replies.envelope(401, replies.KEY_MISMATCH)
        too_many = self.quota.admit(PLANS[self.plan])
        if too_many is None:
            return None
        with self._lock:
            self._refusals[too_many["period"]] += 1
        return replies.too_many(too_many)

    def _route(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        if path == "/api/v4/systems":
            return self._systems(params)
        if path == "/api/v4/systems/retrieve_system_id":
            if params.get("serial_num") != self.serial:
                raise ApiError(404, f"Couldn't find Envoy with serial_num {params.get('serial_num', '')[:20]!r}")
            return {"system_id": self.system_id}
        match = _SYSTEM_PATH.fullmatch(path)
        if match is None or (match.group(3) is not None and match.group(3) not in KINDS):
            raise ApiError(404, f"No route for {path[:80]}")
        if int(match.group(1)) != self.system_id:
            raise ApiError(404, f'System not found for {{:id=>"{match.group(1)}"}}')
        what = match.group(3) or match.group(2)
        if what in _DEVICE_LEVEL and not PLANS[self.plan].device_level:
            raise ApiError(403, replies.FORBIDDEN)
        if what == "summary":
            return self.data.summary(self.system_id, params.get("summary_date"))
        if what == "latest_telemetry":
            return self.data.latest_telemetry(self.system_id)
        return self.data.telemetry(self.system_id, what, params)

    def _systems(self, params: dict[str, str]) -> dict[str, Any]:
        page, size = params.get("page") or "1", params.get("size") or "10"
        if not (page.isdigit() and size.isdigit() and int(page) >= 1 and 1 <= int(size) <= 100):
            raise ApiError(422, "page must be 1 or more, size 1 to 100")
        systems = [self.data.system(self.system_id)] if int(page) == 1 else []
        return {
            "total": 1,
            "current_page": int(page),
            "size": int(size),
            "count": len(systems),
            "items": "systems",
            "systems": systems,
        }
