"""Token flows in order, with fallback: the first token that passes the offline checks wins.

A flow fails when the cloud refuses (any status but 200: 400, 401, 403, 404, 405, 500 ...),
when its answer is no token that passes `check_candidate` (an HTML page, a token for another
gateway, an expired one), when the account wants a one-time code, or when it cannot reach the
cloud (after the retries of `EnphaseCloud.send`). Each failure is one WARNING naming the flow,
the HTTP status and the reason; when every flow failed, one ERROR lists them all, and the
caller (TokenManager) opens its circuit breaker. No message carries a password, a session id,
a cookie or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.auth.flows import FLOWS, Attempt
from bridge.auth.tokens import TokenInfo, check_candidate
from bridge.errors import CloudAuthError, CloudError, CloudMFARequired, CloudUnavailable, TokenRejected

if TYPE_CHECKING:
    from bridge.auth.cloud import EnphaseCloud

log = logging.getLogger(__name__)

MFA_HINT = (
    "multi-factor authentication (MFA) is on for this Enphase account, and the bridge cannot "
    "log in with MFA. Log in at https://entrez.enphaseenergy.com, create a token for this "
    "gateway (pick its system and serial number), and paste it with "
    "`envoy-mqtt-bridge token import -c config.yaml` (or as `token` in the config; or turn MFA "
    "off). A pasted token is not renewed automatically: paste a new one before it expires"
)


@dataclass(frozen=True, slots=True)
class CloudToken:
    """A token from the cloud that passed the offline checks, and the flow that produced it."""

    token: str = field(repr=False)
    info: TokenInfo
    flow: str


def flow_order(configured: Sequence[str], remembered: str | None = None, forced: str | None = None) -> tuple[str, ...]:
    """The flows to try: `forced` alone, else the configured ones with the remembered one first."""
    if forced:
        return (forced,)
    if remembered is not None and remembered in configured:
        return (remembered, *(name for name in configured if name != remembered))
    return tuple(configured)


def fetch_with_fallback(
    cloud: EnphaseCloud, username: str, password: str, serial: str, now: float, flows: Sequence[str], quiet: bool
) -> CloudToken:
    """The token of the first of `flows` that gives one passing the offline checks at `now`."""
    attempt = Attempt(cloud, username, password, serial)
    failures: list[tuple[str, CloudError]] = []
    for name in flows:
        try:
            token = FLOWS[name](attempt)
            info = check_candidate(token, serial, now)
        except TokenRejected as err:
            failure: CloudError = CloudAuthError(f"HTTP 200, but the answer is no usable token: {err}")
        except CloudError as err:
            failure = err
        else:
            return CloudToken(token, info, name)
        log.log(
            logging.DEBUG if quiet else logging.WARNING, "gateway %s: token flow %s failed: %s", serial, name, failure
        )
        failures.append((name, failure))
    raise _every_flow_failed(serial, failures)


def _every_flow_failed(serial: str, failures: list[tuple[str, CloudError]]) -> CloudError:
    """The error listing every flow's failure, of the class that says why."""
    listing = "; ".join(f"{name}: {err}" for name, err in failures)
    message = f"no token for gateway {serial} from the Enphase cloud: every token flow failed ({listing})"
    errors = [err for _, err in failures]
    cls: type[CloudError] = CloudAuthError
    if any(isinstance(err, CloudMFARequired) for err in errors):
        cls, message = CloudMFARequired, f"{message}. {MFA_HINT}"
    elif all(isinstance(err, CloudUnavailable) for err in errors):
        cls = CloudUnavailable
    return cls(message)
