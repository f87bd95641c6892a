"""`envoy-mqtt-bridge simulate`: run the simulated gateway and cloud until SIGINT/SIGTERM.

    envoy-mqtt-bridge simulate --scenario three_phase_battery --time-factor 60 \\
        --events "grid_outage@+30s,grid_restore@+90s"

Without --capture it runs a living scenario (default three_phase_battery). On a terminal,
typing an event (e.g. `grid_outage`, `reboot:refuse_s=10`) and Enter triggers it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from bridge.errors import BridgeError
from bridge.simulator.cloudapi_limits import PLANS
from bridge.simulator.cloudreplies import FAILURES, FLOWS, check_failure
from bridge.simulator.core import Simulator
from bridge.simulator.scenario import CHECK_JWT_MODES, builtin_names
from bridge.simulator.schedule import parse_events

DEFAULT_SCENARIO = "three_phase_battery"


def add_scenario_arguments(
    parser: argparse.ArgumentParser, default_factor: float = 1.0, default_start: str | None = None
) -> None:
    """Options shared with `demo`: which system, how fast its clock runs, what happens."""
    names = ", ".join(builtin_names())
    parser.add_argument(
        "--scenario",
        default=None,
        metavar="NAME|FILE",
        help=f"living scenario: {names}, or a YAML file (default {DEFAULT_SCENARIO})",
    )
    parser.add_argument(
        "--time-factor",
        type=float,
        default=default_factor,
        metavar="X",
        help=f"simulated seconds per real second (default {default_factor:g}; 60 = a day in 24 min)",
    )
    parser.add_argument(
        "--start",
        default=default_start,
        metavar="HH:MM",
        help="simulated local time to start at (default: %s)" % (default_start or "now"),
    )
    parser.add_argument(
        "--timezone",
        default=None,
        metavar="TZ",
        help="simulated time zone: local (default), UTC, +02:00 or an IANA name",
    )
    parser.add_argument(
        "--events",
        default="",
        metavar="SPEC",
        help='events, e.g. "grid_outage@+30s,grid_restore@+90s,reboot@03:00"; '
        "+N[s|m|h] = real time from now, HH:MM = every simulated day",
    )
    parser.add_argument("--no-nightly", action="store_true", help="no 23:00 hiccup (the real gateway's nightly reset)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--capture", metavar="DIR", default=None, help="serve a capture folder as it is, instead of a living scenario"
    )
    add_scenario_arguments(parser)
    parser.add_argument("--port", type=int, default=0, help="Envoy HTTPS port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--cloud-port", type=int, default=0, help="fake Enphase cloud port (0 = any free)")
    parser.add_argument(
        "--auth",
        choices=("token", "digest", "none"),
        default="token",
        help="how the gateway authenticates (token = firmware 7+)",
    )
    parser.add_argument(
        "--check-jwt",
        choices=CHECK_JWT_MODES,
        default=None,
        help="how /auth/check_jwt answers: both methods (default), GET or POST only, or not at all (bearer only)",
    )
    parser.add_argument("--serial", default=None, help="serial to announce instead of the scenario's")
    parser.add_argument(
        "--cloud-fail",
        action="append",
        default=[],
        metavar="FLOW=FAILURE",
        help=f"a cloud flow ({', '.join(FLOWS)}) fails from the start with FAILURE ({', '.join(FAILURES)}); repeatable",
    )
    parser.add_argument(
        "--cloud-api",
        action="store_true",
        help="also serve the fake Enlighten API v4 (OAuth and monitoring) on its own port; living scenarios only",
    )
    parser.add_argument("--cloud-api-port", type=int, default=0, help="fake Enlighten API v4 port (0 = any free)")
    parser.add_argument(
        "--cloud-api-plan", choices=tuple(PLANS), default="watt", help="its plan: quotas and device-level data"
    )


def build_simulator(args: argparse.Namespace, **kwargs: Any) -> Simulator:
    """The Simulator the options describe; ValueError/OSError for bad ones."""
    capture = getattr(args, "capture", None)
    if capture and args.scenario:
        raise ValueError("--capture and --scenario exclude each other")
    if args.events:
        parse_events(args.events)  # fail before anything starts
    common = dict(
        serial=getattr(args, "serial", None),
        auth=getattr(args, "auth", "token"),
        check_jwt=getattr(args, "check_jwt", None),
        port=getattr(args, "port", 0),
        cloud_port=getattr(args, "cloud_port", 0),
        cloud_api=getattr(args, "cloud_api", False),  # a capture refuses it: its data come from the physics
        cloud_api_port=getattr(args, "cloud_api_port", 0),
        **kwargs,
    )
    failures = [_flow_failure(text) for text in getattr(args, "cloud_fail", [])]
    if capture:
        sim = Simulator(capture, timezone=args.timezone, **common)
        if args.events:
            sim.schedule(args.events)
    else:
        sim = Simulator(
            scenario=args.scenario or DEFAULT_SCENARIO,
            time_factor=args.time_factor,
            start=args.start,
            timezone=args.timezone,
            nightly=not args.no_nightly,
            events=args.events or None,
            **common,
        )
    if sim.cloud_api is not None:
        sim.cloud_api.plan = args.cloud_api_plan
    for flow, failure in failures:
        sim.cloud_fail(flow, failure)
    return sim


def _flow_failure(text: str) -> tuple[str, str]:
    """("entrez_json", "gone") from "entrez_json=gone"; ValueError for anything else."""
    flow, _, failure = text.partition("=")
    check_failure(flow.strip(), failure.strip())
    return flow.strip(), failure.strip()


def run(args: argparse.Namespace) -> int:
    """0 after SIGINT/SIGTERM; 2 for an unusable capture or scenario; 1 when a port is taken."""
    try:
        sim = build_simulator(args)
    except (OSError, ValueError, BridgeError) as err:
        print(f"simulate: {err}", file=sys.stderr)
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
        if sys.stdin is not None and sys.stdin.isatty():
            threading.Thread(target=_read_commands, args=(sim,), daemon=True).start()
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
        ("check_jwt", sim.check_jwt),
        ("token", sim.issue_token()),
        ("cloud_user", sim.cloud_user),
        ("cloud_password", sim.cloud_password),
    ]
    if sim.cloud_api is not None:
        api = sim.cloud_api
        lines += [
            ("cloud_api_url", sim.cloud_api_url),
            ("cloud_api_key", api.api_key),
            ("cloud_api_client_id", api.client_id),
            ("cloud_api_client_secret", api.client_secret),
            ("cloud_api_system_id", str(api.system_id)),
            ("cloud_api_plan", api.plan),
        ]
    if sim.cloud.failures:
        lines.append(("cloud_failures", ", ".join(f"{flow}={failure}" for flow, failure in sim.cloud.failures.items())))
    if sim.auth == "digest":
        lines += [
            ("digest_user", "envoy"),
            ("digest_password", sim.serial[-6:]),
            ("installer_password", sim.installer_password),
        ]
    if sim.scenario is not None:
        lines += [
            ("scenario", f"{sim.scenario.name}: {sim.scenario.description}"),
            ("time_factor", f"{sim.clock.factor:g}"),
            ("simulated_time", sim.clock.describe()),
        ]
    for key, value in lines:
        print(f"{key}: {value}", flush=True)
    print("simulator running; Ctrl-C to stop", flush=True)
    if sys.stdin is not None and sys.stdin.isatty():
        print(f"type an event and Enter: {', '.join(sim.director.names)}", flush=True)


def _read_commands(sim: Simulator) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            sim.schedule(line.strip())
            print(f"event: {line.strip()}", flush=True)
        except ValueError as err:
            print(f"simulate: {err}", flush=True)
