"""Pure data model: endpoint bodies in, frozen snapshots out. Knows nothing of HTTP or MQTT.

Typical use by the poller::

    probed = {ep: ENDPOINTS[ep](decode_json(ep, body)) for ep, body in answers.items()}
    wanted = select_endpoints(info, probed)                 # once, and after a firmware change
    state = build_state(info, latest_parsed, polled_at)    # after every poll group
    publish("state", state.as_payload())
    for suffix, document in state.device_payloads().items():  # inverter/<sn>, battery/<sn> ...
        publish(suffix, document)
"""

from bridge.model.common import decode_json
from bridge.model.ctmeters import CtMeter, MeterValues
from bridge.model.flows import Flow
from bridge.model.grid import GridState
from bridge.model.info import GatewayInfo, parse_info
from bridge.model.sources import CANDIDATE_ENDPOINTS, ENDPOINTS, grid_endpoint, grid_status_of, select_endpoints
from bridge.model.state import SCHEMA, GatewayState, build_state

__all__ = [
    "CANDIDATE_ENDPOINTS",
    "ENDPOINTS",
    "SCHEMA",
    "CtMeter",
    "Flow",
    "GatewayInfo",
    "GatewayState",
    "GridState",
    "MeterValues",
    "build_state",
    "decode_json",
    "grid_endpoint",
    "grid_status_of",
    "parse_info",
    "select_endpoints",
]
