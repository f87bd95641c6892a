"""The gateway's stand-in: a fake Envoy / IQ Gateway and a fake Enphase cloud, real HTTPS on loopback.

Used by the integration tests, the demo and the benchmarks; `core.Simulator` is the door. It owns
serving a capture folder as it is (`source`) or a living scenario (`scenario` says what the system
is, `physics` what it does on a `clock` that can run faster than real time, with deterministic
`noise`, handing out a `snapshot`; `bodies`, `ctmeters`, `electrical`, `ensemble`, `settings` and
`livedata` shape the endpoint bodies from it, `stream` switches the live stream, `living` routes
them), scenario events on demand or on a schedule (`events`, `schedule`), the gateway's HTTP
behaviour and auth (`envoy`, `tokens`, `digest`), injected faults and counters (`faults`), the fake
cloud (`cloud` routes its three flows; `cloudreplies` says what it answers, `cloudsessions` who is
signed in, `cloudevents` how events fail and heal it), the fake Enlighten API v4 (`cloudapi`
routes it; `cloudapi_oauth` its codes and tokens, `cloudapi_limits` its plans' quotas,
`cloudapi_data` and `cloudapi_window` its data from the quarter-hour `reports` the physics
keeps, `cloudapi_replies` its error bodies), the HTTPS server and its public test
certificates (`httpd`, `tls`), how options
become parts (`assembly`) and the `simulate` command (`cli`). May import `bridge.errors`, the model's `parse_info` (through `bridge.model`) only to
read the serial of its own /info, and a capture folder's layout (`bridge.capture.layout`); nothing of the bridge's runtime (gateway, auth, mqtt, config ...):
it stands in for the gateway, so its answers must never come from the code they test.
"""

from __future__ import annotations

from bridge.simulator.core import Simulator
from bridge.simulator.living import LivingSource
from bridge.simulator.scenario import Scenario, builtin_names, load_scenario
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource, Source
from bridge.simulator.tls import CA_FILE, IMPOSTOR_CERT, IMPOSTOR_KEY, SERVER_CERT, SERVER_KEY

__all__ = [
    "CA_FILE",
    "DEFAULT_CAPTURE",
    "IMPOSTOR_CERT",
    "IMPOSTOR_KEY",
    "SERVER_CERT",
    "SERVER_KEY",
    "CaptureSource",
    "LivingSource",
    "Scenario",
    "Simulator",
    "Source",
    "builtin_names",
    "load_scenario",
]
