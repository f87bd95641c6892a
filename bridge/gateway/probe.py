"""Probing: which of the registry's candidate endpoints one gateway answers, at every setup.

Each candidate is read once, as a probe (a 401/403 that a new session does not cure means "not
for this token", never a token renewal). One that is missing (404), refused or answers nonsense
is absent, and why is kept for the log; a gateway that is down, a token that cannot be had or a
wrong certificate stops the probe (the worker backs off and probes again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import AuthError, EnvoyError, EnvoyUnavailable, TLSPinError

log = logging.getLogger(__name__)

# The first candidates (/ivp/meters, readings, production.json) answer any valid token; when
# this many of them refuse it, the probe stops and reads one normally, which renews the token.
REFUSALS_MEAN_BAD_TOKEN = 3
Read = Callable[[str, bool], Any]  # (endpoint, probing) -> parsed reading


@dataclass
class Probe:
    found: dict[str, Any] = field(default_factory=dict)  # endpoint -> parsed reading
    absent: dict[str, str] = field(default_factory=dict)  # endpoint -> why it counts as absent


def probe(candidates: Iterable[str], read: Read, serial: str) -> Probe:
    """Read every candidate once, in order; raises what means the gateway cannot be probed now."""
    result, pending = Probe(), list(candidates)
    refused: list[str] = []
    while pending:
        endpoint = pending.pop(0)
        parsed = _probe_one(endpoint, read, serial, result, refused)
        if parsed is not None:
            result.found[endpoint] = parsed
            result.absent.pop(endpoint, None)  # refused before the token was renewed
        elif refused and not result.found and (len(refused) >= REFUSALS_MEAN_BAD_TOKEN or not pending):
            # Everything so far refused us, and the first candidates answer any valid token:
            # the token itself is the problem. A normal read goes through a new session and
            # a token renewal, or says why not; then the others are probed with the good
            # token. Probing on with a refused token would cost ~50 requests per retry.
            target = refused.pop()
            result.found[target] = read(target, False)
            result.absent.pop(target, None)
            pending, refused = refused + pending, []
    return result


def _probe_one(endpoint: str, read: Read, serial: str, result: Probe, refused: list[str]) -> Any:
    """Parsed body, or None when the gateway lacks this endpoint or answers nonsense."""
    try:
        return read(endpoint, True)
    except (EnvoyUnavailable, AuthError, TLSPinError):
        raise
    except EnvoyError as err:  # 404, 401 on an optional endpoint, bad data: absent
        if getattr(err, "status", None) in (401, 403):
            refused.append(endpoint)
        result.absent[endpoint] = str(err)
        log.debug("Gateway %s: %s is not available here (%s)", serial, endpoint, err)
        return None
