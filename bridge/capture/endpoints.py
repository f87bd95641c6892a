"""What a capture reads: `/info`, every endpoint of the model's registry, and the other reads
of reference `envoy-local-api.md` §2 and §4 that the bridge does not poll. Never a write, and
never `/stream/meter` (a stream that does not end).

The first read after `/info` is the one every gateway answers any valid credentials
(`PROOF_READ`): it is read as the bridge polls, so a stale token is renewed there, and bad
credentials stop the capture with the reason; the others are read as probes (a refusal is
recorded as the gateway's answer, as real captures show 401s).
"""

from __future__ import annotations

from bridge.controls.table import POWER
from bridge.gateway.client import PROOF_READ
from bridge.model import CANDIDATE_ENDPOINTS

INFO = "/info"
NOT_POLLED = (
    "/production.json",  # without `details=1`: what other clients read
    "/inventory.json",
    "/home",  # slow (6-9 s); network, time zone, radio levels
    "/ivp/ensemble/status",
    "/ivp/ss/gen_schedule",
    "/ivp/sc/pvlimit",
    "/ivp/ss/pel_settings",
    "/ivp/meters/reports",
    "/ivp/meters/reports/production",
    "/ivp/meters/reports/consumption",
    "/ivp/meters/gridReading",
    "/ivp/meters/pvReading",
    "/ivp/pdm/energy",
    "/inv",
    "/admin/lib/acb_config",  # AC Batteries' sleep settings
    "/ivp/ss/dpel",  # export limit: installer only
)


def capture_endpoints(production_eid: int) -> tuple[str, ...]:
    """Every endpoint to read, in order, once each (`production_eid`: the `<EID>` of the
    installer-only production switch, as configured for the controls)."""
    ordered = (INFO, PROOF_READ, *CANDIDATE_ENDPOINTS, *NOT_POLLED, POWER.format(eid=production_eid))
    return tuple(dict.fromkeys(ordered))
