"""What the fake Enphase cloud answers: its modes, flows and failures by name, and every body it
sends (reference §3.2-3.7).

A failure is chosen per flow (cloud.py). The refusals answer the flow's token step whether or
not the session is good: forbidden (403), bad_request (400), gone (404: the path moved), html
(200 with an HTML error page instead of the token), sign_in (401 "You need to sign in first",
as for a missing or expired session), invalid_serial (500 "Invalid serial number(<serial>)";
the Entrez form shows "Error: ..." in its textarea instead). The others change what a working
flow gives: mfa (its login answers without a session), wrong_serial (a good token for another
gateway), installer (an installer token, 12 h).
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Iterable

from bridge.simulator.httpd import Response

CLOUD_MODES = ("ok", "bad_password", "mfa", "down", "hang")  # for every path (cloud.py)
FLOWS = ("entrez_json", "enlighten_get", "entrez_form")
ENTREZ_FORM = "entrez_form"
FAILURES = ("forbidden", "bad_request", "gone", "html", "sign_in", "invalid_serial", "mfa", "wrong_serial", "installer")
REFUSALS = FAILURES[:6]
SIGN_IN = "You need to sign in first"
_STATUS_REFUSALS = {"forbidden": (403, "Forbidden"), "bad_request": (400, "Bad Request"), "sign_in": (401, SIGN_IN)}
# MAT's exact needle for the Entrez form's token (reference §3.4), space before ">" included.
TEXTAREA = '<textarea name="accessToken" id="JWTToken" cols="30" rows="10" >'
OTHER_SERIALS = ("999999999999", "999999999998")  # wrong_serial's token is for one of these
ENLIGHTEN_COOKIE = "_enlighten_4_session"  # the session_id again, for /entrez-auth-token
ENTREZ_COOKIE = "SESSION"  # the Entrez form's session


def check_mode(mode: str) -> None:
    if mode not in CLOUD_MODES:
        raise ValueError(f"cloud mode must be one of {', '.join(CLOUD_MODES)}, not {mode!r}")


def check_flow(flow: str) -> None:
    if flow not in FLOWS:
        raise ValueError(f"cloud flow must be one of {', '.join(FLOWS)}, not {flow!r}")


def check_failure(flow: str, failure: str) -> None:
    check_flow(flow)
    if failure not in FAILURES:
        raise ValueError(f"cloud failure must be one of {', '.join(FAILURES)}, not {failure!r}")


def other_serial(serial: str) -> str:
    return OTHER_SERIALS[serial == OTHER_SERIALS[0]]


# --- JSON (Enlighten, and Entrez's /tokens) -----------------------------------------------------


def json_reply(status: int, payload: dict[str, object], headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", list(headers))


def not_found() -> Response:
    return json_reply(404, {"message": "Not Found"})


def enlighten_session(session_id: str) -> Response:
    cookie = f"{ENLIGHTEN_COOKIE}={session_id}; path=/; secure; HttpOnly"
    body = {
        "message": "success",
        "session_id": session_id,
        "manager_token": secrets.token_urlsafe(48),
        "is_consumer": True,
        "system_id": "1000001",
        "redirect_url": "",
    }
    return json_reply(200, body, [("Set-Cookie", cookie)])


def enlighten_mfa() -> Response:
    """Multi-factor authentication on: success, yet no session; the nonce waits for the code."""
    nonce = f"login_otp_nonce={secrets.token_hex(16)}; Path=/; HttpOnly; Secure"
    return json_reply(200, {"success": True, "isBlocked": False}, [("Set-Cookie", nonce)])


# --- HTML (the Entrez web form, and error pages anywhere) ---------------------------------------


def page(status: int, title: str, content: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    text = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{content}\n</body></html>\n"
    return Response(status, text.encode(), "text/html;charset=UTF-8", list(headers))


def token_page(text: str) -> Response:
    """The Entrez form's answer: the token, or an "Error..." refusal, in the textarea."""
    return page(200, "Entrez", f'<form id="tokenForm">\n{TEXTAREA}{html.escape(text)}</textarea>\n</form>')


def error_page() -> Response:
    """Status 200, yet no token: what a proxy or a maintenance window puts in its place."""
    return page(200, "Enphase Energy", "<h1>We're sorry, but something went wrong.</h1>")


def entrez_signed_in(session_id: str) -> Response:
    cookie = f"{ENTREZ_COOKIE}={session_id}; Path=/; Secure; HttpOnly; SameSite=Lax"
    return page(200, "Entrez", "<h1>Entrez</h1>", [("Set-Cookie", cookie)])


def entrez_mfa() -> Response:
    form = '<form action="/verify_otp" method="post"><input name="otp" type="text"></form>'
    return page(200, "Entrez", f"<p>Enter the verification code sent to your e-mail.</p>\n{form}")


def entrez_bad_login() -> Response:
    return page(401, "Entrez", "<p>Invalid username or password.</p>")


# --- refusals of a token step --------------------------------------------------------------------


def refusal(flow: str, failure: str, serial: str) -> Response:
    """The answer of a token step that refuses with `failure` (one of REFUSALS)."""
    if failure == "gone":
        return not_found()
    if failure == "html":
        return error_page()
    if failure == "invalid_serial":
        message = f"Invalid serial number({serial})"
        return token_page(f"Error: {message}") if flow == ENTREZ_FORM else json_reply(500, {"message": message})
    status, message = _STATUS_REFUSALS[failure]
    return (
        page(status, "Entrez", f"<p>{message}</p>") if flow == ENTREZ_FORM else json_reply(status, {"message": message})
    )
