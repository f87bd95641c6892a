"""What an answer of the Enphase cloud says, in words safe for a log line.

A refusal is quoted only by its short, sanitised `message` field (JSON `{"message": ...}`),
never its body; a redirect only by where it pointed (no query: it could carry a session); a
page that asks for a one-time code is recognised, not quoted. Nothing here returns a cookie,
a session id or a token.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import requests

MESSAGE_MAX = 100
BODY_SCAN_MAX = 64 * 1024  # a message or a code prompt is near the top; a huge body is not read further
# Long runs of token-ish characters (a session id, a nonce, a JWT) are never quoted.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-.+/=]{24,}")
_MFA_WORDS = re.compile(
    r"(?i)\b(otp|one[- ]time (?:password|passcode|code)|verification code|security code|"
    r"two[- ]factor|multi[- ]factor|mfa|2fa)\b"
)
_MFA_KEYS = ("requires_mfa", "mfa_required", "otp_required", "login_otp_nonce")


def short_message(resp: requests.Response) -> str:
    """`: <message>` from a JSON answer's `message` (or `error`) field, sanitised; else ''."""
    doc = _json_object(resp)
    for key in ("message", "error"):
        value = doc.get(key)
        if isinstance(value, str) and (text := sanitise(value)):
            return f": {text}"
    return ""


def sanitise(text: str) -> str:
    """One short printable line without anything that looks like a secret."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    text = _SECRET_LIKE.sub("…", text)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def redirect_note(resp: requests.Response) -> str:
    """` (redirect to 'https://host/path', not followed)` for a redirect; else ''."""
    location = urlsplit(resp.headers.get("Location") or "")
    target = (f"{location.scheme}://{location.netloc}" if location.netloc else "") + location.path
    return f" (redirect to {target[:100]!r}, not followed)" if resp.is_redirect and target else ""


def asks_for_code(resp: requests.Response) -> bool:
    """Whether the answer asks for a one-time code (multi-factor authentication)."""
    doc = _json_object(resp)
    if any(doc.get(key) for key in _MFA_KEYS) or "login_otp_nonce" in resp.cookies:
        return True
    return bool(_MFA_WORDS.search(resp.content[:BODY_SCAN_MAX].decode("utf-8", "replace")))


def _json_object(resp: requests.Response) -> dict[str, Any]:
    if len(resp.content) > BODY_SCAN_MAX:
        return {}
    try:
        doc = json.loads(resp.content)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
