"""`envoy-mqtt-bridge simulate`: run the simulated gateway and cloud until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from bridge.errors import BridgeError
from bridge.simulator.core import Simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capture", metavar="DIR", default=None,
                        help="capture folder to serve (default: the built-in 'metered' scenario)")
    parser.add_argument("--port", type=int, default=0, help="Envoy HTTPS port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--cloud-port", type=int, default=0, help="fake Enphase cloud port (0 = any free)")
    parser.add_argument("--auth", choices=("token", "digest", "none"), default="token",
                        help="how the gateway authenticates (token = firmware 7+)")
    parser.add_argument("--serial", default=None, help="serial to announce instead of the capture's")


def run(args: argparse.Namespace) -> int:
    """0 after SIGINT/SIGTERM; 2 for an unusable capture folder; 1 when a port is taken."""
    try:
        sim = Simulator(args.capture, serial=getattr(args, "serial", None), auth=args.auth,
                        port=args.port, cloud_port=args.cloud_port)
    except (OSError, ValueError, BridgeError) as err:
        print(f"simulate: cannot use capture {args.capture}: {err}", file=sys.stderr)
        return 2
    try:
        sim.start()
    except OSError as err:
        print(f"simulate: cannot listen: {err}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _announce(sim)
        while not stop.wait(1.0):  # wake now and then: Python runs handlers between waits
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _announce(sim: Simulator) -> None:
    lines = [
        ("envoy_url", sim.envoy_url),
        ("cloud_url", sim.cloud_url),
        ("ca_file", sim.ca_file),
        ("fingerprint", sim.fingerprint),
        ("serial", sim.serial),
        ("auth", sim.auth),
        ("token", sim.issue_token()),
        ("cloud_user", sim.cloud_user),
        ("cloud_password", sim.cloud_password),
    ]
    if sim.auth == "digest":
        lines += [("digest_user", "envoy"), ("digest_password", sim.serial[-6:]),
                  ("installer_password", sim.installer_password)]
    for key, value in lines:
        print(f"{key}: {value}", flush=True)
    print("simulator running; Ctrl-C to stop", flush=True)
