"""A fake Envoy / IQ Gateway and a fake Enphase cloud over real HTTPS on loopback.

Used by the integration tests, the demo and the benchmarks. See `core.Simulator`.
"""

from bridge.simulator.core import Simulator
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource, Source
from bridge.simulator.tls import CA_FILE, IMPOSTOR_CERT, IMPOSTOR_KEY, SERVER_CERT, SERVER_KEY

__all__ = ["Simulator", "CaptureSource", "Source", "DEFAULT_CAPTURE", "CA_FILE", "SERVER_CERT",
           "SERVER_KEY", "IMPOSTOR_CERT", "IMPOSTOR_KEY"]
