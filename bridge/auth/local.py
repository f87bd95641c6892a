"""The token a gateway already has, without the cloud: pasted in the config or cached, checked offline.

Both candidates pass `check_token` (every offline check but expiry: one that merely expired is
renewed, not refused); the newest wins, so a token the bridge renewed beats the one pasted long
ago. A cached token is attributed to the flow its metadata names, when the metadata belongs to
it. A configured token that fails a check is an error only when nothing can replace it (no
Enlighten credentials); otherwise it is skipped with a WARNING naming the check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bridge.auth.store import TokenMeta, TokenStore
from bridge.auth.tokens import TokenInfo, check_token
from bridge.config import GatewayConfig
from bridge.config.schema import TOKEN_FLOWS
from bridge.errors import AuthError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocalToken:
    """A usable configured or cached token, and where it came from."""

    token: str = field(repr=False)
    info: TokenInfo
    source: str  # "config" or "cache"
    flow: str | None  # a flow name, "import" or "config"; None when unknown
    obtained_at: float | None


def remembered_flow(meta: TokenMeta | None) -> str | None:
    """The cloud flow that worked last time (tried first next time), if the metadata names one."""
    return meta.flow if meta and meta.flow in TOKEN_FLOWS else None


def choose_local(
    gateway: GatewayConfig, serial: str, store: TokenStore | None, meta: TokenMeta | None, can_renew: bool
) -> LocalToken | None:
    """The newest usable token of the config and the cache; AuthError when the configured one is
    unusable and cannot be replaced."""
    usable = []
    configured = (gateway.token or "").strip()
    if configured and (info := _checked(gateway, serial, "config", configured, can_renew)):
        usable.append(LocalToken(configured, info, "config", "config", None))
    cached = store.load() if store else None
    if cached and (info := _checked(gateway, serial, "cache", cached, can_renew)):
        ours = meta if meta is not None and meta.describes(info) else None
        usable.append(
            LocalToken(cached, info, "cache", ours.flow if ours else None, ours.obtained_at if ours else None)
        )
    return max(usable, key=lambda local: local.info.expires_at, default=None)


def cannot_renew_message(label: str, expired: TokenInfo | None) -> str:
    """Why there is no usable token when there are no Enlighten credentials to get one."""
    what = (
        f"the token expired on {expired.expires_iso}"
        if expired
        else "there is no token (neither `token` in the config nor a cached one)"
    )
    return (
        f"{label}: {what} and it cannot be renewed without Enlighten credentials: configure "
        "`username` and `password`, or paste a new token with `envoy-mqtt-bridge token import` or as `token`"
    )


def _checked(gateway: GatewayConfig, serial: str, source: str, token: str, can_renew: bool) -> TokenInfo | None:
    try:
        return check_token(token, serial)
    except AuthError as err:
        if source == "config" and not can_renew:
            raise AuthError(f"{gateway.label}: the configured token is unusable: {err}") from None
        log.warning("%s: ignoring the %s token: %s", gateway.label, source, err)
        return None
