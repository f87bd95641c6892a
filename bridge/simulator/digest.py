"""HTTP Digest authentication (RFC 2617, MD5, qop=auth) as firmware < 7 gateways do it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict

REALM = "enphaseenergy.com"  # what real gateways announce (3.9.36_bad_auth capture)
MAX_NONCES = 256  # bounds memory; an old nonce just earns a fresh challenge
_PARAM_RE = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol says MD5


class DigestAuthority:
    """Checks `Authorization: Digest ...` against a user -> password table."""

    def __init__(self, users: dict[str, str]):
        self.users = dict(users)
        self._nonces: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def challenge(self) -> str:
        """A WWW-Authenticate value with a fresh nonce."""
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = None
            while len(self._nonces) > MAX_NONCES:
                self._nonces.popitem(last=False)
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def check(self, method: str, header: str | None) -> bool:
        if not header or not header.lower().startswith("digest "):
            return False
        params = {m[0].lower(): m[1] or m[2] for m in _PARAM_RE.findall(header[7:])}
        password = self.users.get(params.get("username", ""))
        with self._lock:
            known = params.get("nonce") in self._nonces
        if password is None or not known or params.get("realm") != REALM:
            return False
        return hmac.compare_digest(self._expected(method, password, params), params.get("response", ""))

    @staticmethod
    def _expected(method: str, password: str, p: dict[str, str]) -> str:
        ha1 = _md5(f"{p['username']}:{REALM}:{password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            return _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
        return _md5(f"{ha1}:{p['nonce']}:{ha2}")
