"""What the fake Enlighten API v4 answers when it does not answer data: the error envelopes of
reference §4.5.10, the OAuth errors of RFC 6749, the consent's redirect and the code page of the
default redirect_uri."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from bridge.simulator.cloudapi_oauth import OAuthError
from bridge.simulator.cloudreplies import json_reply, page
from bridge.simulator.httpd import Response

REASONS = {
    400: "Bad Request",
    401: "Not Authorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}
INVALID_KEY = "Invalid API key"
KEY_MISMATCH = "API Key -Client mismatch"  # the key of another application than the token's
INVALID_TOKEN = "Invalid access token"  # noqa: S105 - a message, not a secret
FORBIDDEN = "Not authorized to access this resource"
INVALID_RANGE = "Requested date range is invalid for this system"


class ApiError(Exception):
    """A Monitoring API refusal: its status and the `details` of its envelope."""

    def __init__(self, status: int, details: str):
        super().__init__(details)
        self.status, self.details = status, details


def data(body: dict[str, Any]) -> Response:
    return json_reply(200, body)


def envelope(status: int, details: str) -> Response:
    return json_reply(status, {"message": REASONS[status], "details": details, "code": status})


def api_error(error: ApiError) -> Response:
    return envelope(error.status, error.details)


def too_many(body: dict[str, Any]) -> Response:
    return json_reply(429, body)  # and no Retry-After: Enphase sends none


def method_not_allowed() -> Response:
    return json_reply(405, {"reason": "405", "message": ["Method not allowed"]})


def oauth_error(error: OAuthError) -> Response:
    return json_reply(
        error.status, {"error": error.error, "error_description": error.description}, [("Cache-Control", "no-store")]
    )


def token_reply(body: dict[str, Any]) -> Response:
    return json_reply(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    """302 to `redirect_uri` with `params` added to its query."""
    joiner = "&" if "?" in redirect_uri else "?"
    location = f"{redirect_uri}{joiner}{urlencode(params)}"
    return Response(302, b"", "text/html", [("Location", location)])


def code_page(code: str, error: str) -> Response:
    """The default redirect_uri's page: it shows the code for the user to copy, or the refusal."""
    if error:
        return page(200, "Enphase Energy", f"<p>Authorization failed: {html.escape(error)}</p>")
    return page(200, "Enphase Energy", f'<p>Authorization code: <code id="code">{html.escape(code)}</code></p>')
