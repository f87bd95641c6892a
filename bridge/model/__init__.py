"""Pure data model: endpoint bodies in, frozen snapshots out. Knows nothing of HTTP or MQTT.

The rooms: `parse/` turns bodies into typed readings, `builders/` turns readings into payloads,
`endpoints` is the registry of every endpoint (path, parser, poll group, gateways, auth),
`select` decides which endpoints are worth polling, `reuse` parses an answer only when it
changed, `assemble` hands the parsed results to the builders, `kinds` is the table of unit
kinds (topic stem, device name, poll group), `guard` keeps energy counters honest, and
`energy` / `computed_energy` integrate the battery and grid energy the gateway has no CT to
count.
This module is the facade the rest of the bridge imports from. Typical use by the poller::

    probed = {ep: ENDPOINTS[ep](decode_json(ep, body)) for ep, body in answers.items()}
    wanted = select_endpoints(info, probed)                 # once, and after a firmware change
    state = build_state(info, latest_parsed, polled_at)    # after every poll group
    publish("state", state.as_payload())
    for suffix, document in state.device_payloads().items():  # inverter/<sn>, battery/<sn> ...
        publish(suffix, document)
    live = live_document(latest_parsed, read_at)           # after a live read, without the state

May import: `bridge.errors` and `bridge.identifiers` (the one rule for ids in topics) only;
never HTTP, MQTT or the configuration.
"""

from __future__ import annotations

from bridge.model.assemble import build_state, live_document
from bridge.model.builders.ctmeters import CtMeter, MeterValues
from bridge.model.builders.flows import Flow
from bridge.model.builders.grid import GridState
from bridge.model.builders.live import LiveDocument
from bridge.model.builders.state import SCHEMA, GatewayState
from bridge.model.endpoints import (
    CANDIDATE_ENDPOINTS,
    ENDPOINTS,
    LIVE_DATA,
    LIVE_STREAM_PATH,
    POLL_GROUPS,
    REFRESH_S,
    RELAY,
)
from bridge.model.kinds import poll_group_of
from bridge.model.parse.codec import decode_json
from bridge.model.parse.info import GatewayInfo, parse_info
from bridge.model.parse.livedata import LiveData, parse_stream_reply
from bridge.model.reuse import LatestAnswers
from bridge.model.select import (
    batteries_or_controller,
    candidate_endpoints,
    grid_endpoint,
    grid_status_of,
    select_endpoints,
)

LIVE_PATH = LIVE_DATA.path
RELAY_PATH = RELAY.path

__all__ = [
    "CANDIDATE_ENDPOINTS",
    "ENDPOINTS",
    "LIVE_PATH",
    "LIVE_STREAM_PATH",
    "POLL_GROUPS",
    "REFRESH_S",
    "RELAY_PATH",
    "SCHEMA",
    "CtMeter",
    "Flow",
    "GatewayInfo",
    "GatewayState",
    "GridState",
    "LatestAnswers",
    "LiveData",
    "LiveDocument",
    "MeterValues",
    "batteries_or_controller",
    "build_state",
    "candidate_endpoints",
    "decode_json",
    "grid_endpoint",
    "grid_status_of",
    "live_document",
    "parse_info",
    "parse_stream_reply",
    "poll_group_of",
    "select_endpoints",
]
