"""Command line: run, check-config, token show/renew/import (bridge/token_commands.py), cloud
authorize/status (bridge/cloud_commands.py), fingerprint, capture (bridge/capture/command.py),
simulate, demo, health.

Exit codes: 0 success, 1 runtime failure (unreachable gateway, refused login...), 2 bad
configuration. Expected faults print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bridge import __version__
from bridge.config import Config, describe, load_config
from bridge.config.load import cache_dir_from_environ, cache_dir_from_file
from bridge.errors import BridgeError, ConfigError
from bridge.redaction import redact, setup_logging

if TYPE_CHECKING:  # annotations only: the commands import what they run when they run
    from bridge.gateway.worker import EnvoyWorker
    from bridge.mqtt.publisher import Publisher

log = logging.getLogger("bridge")

# SIGTERM must end the process within 5 s: 3 s to flush `offline`, the rest for the threads.
SHUTDOWN_FLUSH_S = 3.0
CONFIG_ENV = "ENVOY_BRIDGE_CONFIG"  # the default for -c (the Docker image sets it)
ONCE_BROKER_WAIT_S = 15.0


# What these import is what a process holds: the other commands' modules (the simulator, the
# demo, the capture, the token and cloud API commands) load only when one of them is asked for.
LEAN_COMMANDS = ("run", "check-config", "health", "fingerprint")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(_command_of(argv)).parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as err:
        print("configuration error:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except BridgeError as err:
        print(f"error: {redact(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _command_of(argv: Sequence[str]) -> str | None:
    """The command's name: the first word that is not an option (there are no global options
    with a value), None for `--help` and `--version`."""
    return next((word for word in argv if not word.startswith("-")), None)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command, or for one of LEAN_COMMANDS only what it needs (help and a mistyped
    command still list them all)."""
    parser = argparse.ArgumentParser(
        prog="envoy-mqtt-bridge", description="Enphase Envoy to MQTT bridge with Home Assistant discovery"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="poll the gateways and publish to MQTT")
    _config_arg(run)
    run.add_argument("--once", action="store_true", help="one full cycle, wait for the broker, exit")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate and print the effective configuration")
    _config_arg(check)
    check.set_defaults(func=cmd_check_config)

    fingerprint = sub.add_parser(
        "fingerprint", help="print a gateway's certificate fingerprint (to pin it in config.yaml: trust on first use)"
    )
    fingerprint.add_argument("host", help="host or host:port of the gateway")
    fingerprint.set_defaults(func=cmd_fingerprint)

    health = sub.add_parser(
        "health", help="exit 0 when a running bridge's threads are alive and it publishes (the Docker health check)"
    )
    _config_arg(health, help_text="where to find the cache directory (default: ENVOY_BRIDGE_CACHE_DIR)")
    health.add_argument(
        "--max-age",
        type=float,
        default=300,
        help="seconds the health document and the last broker contact may be old (default 300)",
    )
    health.set_defaults(func=cmd_health)
    if command not in LEAN_COMMANDS:
        _add_other_commands(sub)
    return parser


def _add_other_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bridge.token_commands import add_token_commands

    add_token_commands(sub, _config_arg)

    from bridge.cloud_commands import add_cloud_commands

    add_cloud_commands(sub, _config_arg)

    from bridge.capture import command as capture

    capture_cmd = sub.add_parser(
        "capture", help="read every endpoint the project knows once and write the answers, masked, for a bug report"
    )
    capture.add_arguments(capture_cmd, _config_arg)
    capture_cmd.set_defaults(func=capture.run)

    from bridge.simulator import cli as simulator_cli

    simulate = sub.add_parser("simulate", help="run a simulated gateway and Enphase cloud on loopback")
    simulator_cli.add_arguments(simulate)
    simulate.set_defaults(func=simulator_cli.run)

    from bridge.demo import command as demo

    demo_cmd = sub.add_parser("demo", help="simulator + broker + bridge: see what gets published")
    demo.add_arguments(demo_cmd)
    demo_cmd.set_defaults(func=demo.run)


def _config_arg(
    parser: argparse.ArgumentParser,
    help_text: str = "YAML configuration file (default: $ENVOY_BRIDGE_CONFIG; ENVOY_BRIDGE_* variables override it)",
) -> None:
    parser.add_argument("-c", "--config", default=os.environ.get(CONFIG_ENV) or None, help=help_text)


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.log_level, config.secrets())
    return config


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(yaml.safe_dump(describe(config), sort_keys=False), end="")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    from bridge.app import Bridge

    if args.once and config.cloud_api.only:
        raise ConfigError("run --once reads the local gateways; cloud_api.mode only has none: use `run`")
    bridge = Bridge(config)
    if args.once:
        bridge.publisher.start()
        try:
            return _run_once(bridge.publisher, bridge.workers)
        finally:
            bridge.stop(SHUTDOWN_FLUSH_S)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: bridge.stopping.set())
    bridge.start()
    try:
        bridge.run_forever()
        log.info("Stopping")
    finally:
        bridge.stop(SHUTDOWN_FLUSH_S)
    return 0


def _run_once(publisher: Publisher, workers: Sequence[EnvoyWorker]) -> int:
    if not publisher.wait_connected(ONCE_BROKER_WAIT_S):
        raise BridgeError(f"cannot reach the MQTT broker at {publisher.cfg.host}:{publisher.cfg.port}")
    failures = [failure for worker in workers if (failure := _failure_of(worker))]
    if not publisher.flush(ONCE_BROKER_WAIT_S):
        failures.append("the broker did not acknowledge every message in time")
    if failures:
        raise BridgeError("; ".join(failures))
    return 0


def _failure_of(worker: EnvoyWorker) -> str | None:
    """One full cycle of one gateway; what went wrong, or None."""
    try:
        worker.run_once()
    except BridgeError as err:
        return f"gateway {worker.gateway.label}: {err}"
    return None


def cmd_health(args: argparse.Namespace) -> int:
    """Judge the health document of the bridge that runs with this cache directory.

    Only the cache directory is read from the file (-c, else $ENVOY_BRIDGE_CONFIG, which the
    Docker image sets to the /data/config.yaml its `run` uses), not the rest: the check must not
    fail on what `run` alone needs. Without a file (an image configured by the environment
    only): ENVOY_BRIDGE_CACHE_DIR or the default.
    """
    from bridge.health import verdict

    if args.config and Path(args.config).exists():
        cache_dir = cache_dir_from_file(args.config)
    else:
        cache_dir = cache_dir_from_environ()
    path = Config(gateways=(), cache_dir=cache_dir).health_file
    healthy, line = verdict(path, time.time(), args.max_age)
    print(line)
    return 0 if healthy else 1


def cmd_fingerprint(args: argparse.Namespace) -> int:
    from bridge.gateway.tls import fetch_fingerprint

    print(fetch_fingerprint(args.host))  # it reads a ":port" (or "[v6]:port") itself
    return 0
