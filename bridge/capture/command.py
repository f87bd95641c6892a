"""`envoy-mqtt-bridge capture -c config.yaml -o DIR [--zip]`: one gateway's answers to every
endpoint the project knows, masked, for a bug report (docs/troubleshooting.md).

It talks to the gateway exactly as `run` does (the configured credentials, the token cache,
the pinned certificate), reads each endpoint once with a pause between two, and prints what it
wrote and how much it masked: never a secret, never the real serial.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.capture.endpoints import capture_endpoints
from bridge.capture.reader import DEFAULT_PAUSE_S, read_all
from bridge.capture.redact import Redactor
from bridge.capture.writer import check_empty, write_capture, write_zip
from bridge.config import Config, GatewayConfig, load_config
from bridge.errors import ConfigError
from bridge.gateway.client import EnvoyClient
from bridge.redaction import setup_logging


def add_arguments(parser: argparse.ArgumentParser, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    config_arg(parser)
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="DIR", help="a new or empty directory for the capture"
    )
    parser.add_argument("--gateway", metavar="LABEL", help="the gateway (serial or host[:port]) when there are several")
    parser.add_argument("--zip", action="store_true", help="also write DIR.zip: the one file to attach to an issue")
    parser.add_argument(
        "--pause",
        type=float,
        default=DEFAULT_PAUSE_S,
        metavar="SECONDS",
        help=f"wait between two requests (default {DEFAULT_PAUSE_S:g})",
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging(config.log_level, config.secrets())
    gateway = _one_gateway(config, args.gateway)
    if not args.pause >= 0:
        raise ConfigError("--pause: must be 0 or more seconds")
    check_empty(args.output)  # before the gateway sees a request
    cloud = EnphaseCloud(config.cloud)
    client = EnvoyClient(gateway, cloud, TokenStore.for_gateway(gateway))
    try:
        info, answers = read_all(client, capture_endpoints(config.controls.production_eid), args.pause)
    finally:
        client.close()
        cloud.close()
    redactor = Redactor(serials=[gateway.serial] if gateway.serial else [], secrets=config.secrets())
    written = write_capture(args.output, info, answers, redactor)
    print(
        f"gateway {written.serial} (firmware {info.firmware}): {written.answered} of {len(answers)} endpoints "
        f"answered, {written.ok} with 200; written to {written.folder}"
    )
    print("masked: " + (", ".join(f"{count} {kind}" for kind, count in written.masked.items()) or "nothing"))
    if args.zip:
        print(f"zip: {write_zip(args.output)}")
    return 0


def _one_gateway(config: Config, label: str | None) -> GatewayConfig:
    """The gateway `--gateway` names (serial, host or label), or the only one."""
    chosen = [gw for gw in config.gateways if label is None or label in (gw.label, gw.host, gw.serial)]
    if len(chosen) != 1:
        known = ", ".join(gw.label for gw in config.gateways)
        which = f"--gateway {label}: no such gateway" if label else "--gateway: say which gateway to capture"
        raise ConfigError(f"{which} ({known})")
    return chosen[0]
