"""Real Envoy captures from ../shared/fixtures/envoy, fed through the model as the poller will.

Each capture folder holds one file per endpoint, named after the URL path with `/` turned
into `_`; `X_log.json` beside a file holds the HTTP status of that answer. A non-200
status, a body that is not JSON, or a body the parser refuses all make the endpoint
"absent", exactly as a probe would treat them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.capture.layout import file_names
from bridge.errors import EnvoyDataError
from bridge.model import (
    CANDIDATE_ENDPOINTS,
    ENDPOINTS,
    GatewayInfo,
    GatewayState,
    build_state,
    decode_json,
    parse_info,
    select_endpoints,
)

CAPTURES = Path(__file__).resolve().parents[3] / "shared/fixtures/envoy"
SKIP_REASON = f"real Envoy captures not found at {CAPTURES} (only present next to the project checkout)"
POLLED_AT = 1_700_000_000.0  # a fixed "now" so snapshots never depend on the clock


def endpoint_files(endpoint: str) -> list[str]:
    """Capture file names for an endpoint, most specific first, by the simulator's own rule:
    `/production.json?details=1` is `production.json_details_1`, else `production.json`."""
    path, _, query = endpoint.partition("?")
    return file_names(path, query)


@dataclass
class Capture:
    name: str
    info: GatewayInfo
    bodies: dict[str, bytes]  # endpoint -> body of every 200 answer in the folder
    probed: dict[str, object] = field(default_factory=dict)  # endpoint -> parsed result
    refused: dict[str, str] = field(default_factory=dict)  # endpoint -> why it counts as absent

    def selected(self) -> set[str]:
        return select_endpoints(self.info, self.probed)

    def parsed(self) -> dict[str, object]:
        """What the poller would hold after one round of the selected endpoints."""
        return {ep: self.probed[ep] for ep in self.selected()}

    def state(self) -> GatewayState:
        return build_state(self.info, self.parsed(), POLLED_AT)


def captures_root() -> Path:
    if not CAPTURES.is_dir():
        pytest.skip(SKIP_REASON)
    return CAPTURES


def capture_names() -> list[str]:
    """Folder names for parametrisation; [] when absent (the test then skips with a reason)."""
    if not CAPTURES.is_dir():
        return []
    return sorted(p.name for p in CAPTURES.iterdir() if p.is_dir() and (p / "info").is_file())


def load_capture(name: str) -> Capture:
    folder = captures_root() / name
    if not folder.is_dir():
        pytest.skip(f"capture {name} not found in {CAPTURES}")
    return load_folder(folder)


def load_folder(folder: Path) -> Capture:
    """Any capture folder in that layout: a shared one, or one `envoy-mqtt-bridge capture` wrote."""
    capture = Capture(folder.name, parse_info((folder / "info").read_bytes()), _bodies(folder))
    for endpoint, body in capture.bodies.items():
        try:
            capture.probed[endpoint] = ENDPOINTS[endpoint](decode_json(endpoint, body))
        except EnvoyDataError as err:
            capture.refused[endpoint] = str(err)
    return capture


def _bodies(folder: Path) -> dict[str, bytes]:
    bodies = {}
    for endpoint in CANDIDATE_ENDPOINTS:
        path = next((folder / n for n in endpoint_files(endpoint) if (folder / n).is_file()), None)
        if path is not None and _status(path) == 200:
            bodies[endpoint] = path.read_bytes()
    return bodies


def _status(path: Path) -> int:
    log = path.with_name(path.name + "_log.json")
    if not log.is_file():
        return 200
    return int(json.loads(log.read_text()).get("code", 200))
