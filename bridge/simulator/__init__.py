"""A fake Envoy / IQ Gateway and a fake Enphase cloud over real HTTPS on loopback.

Used by the integration tests, the demo and the benchmarks. See `core.Simulator`: it serves
a capture folder as it is, or a living scenario (`scenario=`) whose values come from the
physics on a clock that can run faster than real time, with events on demand or on a schedule.
"""

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
