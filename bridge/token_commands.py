"""The `token` commands: show, renew (optionally by one flow), import.

They wire the token side (bridge/auth) to the gateway client (its open `/info` and
`/auth/check_jwt`), so they live beside the command line: bridge/auth never imports the
gateway client. Each takes `-c config.yaml`, and `--gateway LABEL` (a serial or host[:port], as
the logs name gateways) to pick one of several; show and renew act on every gateway without
it, import needs exactly one. Nothing printed here ever shows a token.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.manager import TokenManager
from bridge.auth.store import MAX_TOKEN_BYTES, TokenMeta, TokenStore
from bridge.auth.tokens import TokenInfo, check_candidate, decode_token
from bridge.config import Config, GatewayConfig, load_config
from bridge.config.schema import TOKEN_FLOWS
from bridge.errors import AuthError, BridgeError, ConfigError
from bridge.gateway.client import EnvoyClient
from bridge.redaction import setup_logging


def add_token_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], config_arg: Callable[[argparse.ArgumentParser], None]
) -> None:
    token = sub.add_parser("token", help="show, renew or import the gateway token")
    actions = token.add_subparsers(required=True, metavar="ACTION")
    show = actions.add_parser("show", help="decode the token in use: type, expiry, the flow that produced it")
    show.set_defaults(func=cmd_token_show)
    renew = actions.add_parser("renew", help="get a new token, validated against the gateway")
    renew.add_argument("--flow", choices=TOKEN_FLOWS, help="use this token flow alone (default: all, in order)")
    renew.set_defaults(func=cmd_token_renew)
    imported = actions.add_parser(
        "import", help="check a token (offline, then at the gateway) and keep it in the token cache"
    )
    imported.add_argument(
        "token",
        nargs="?",
        default="-",
        metavar="TOKEN|FILE|-",
        help="the token, a file holding it, or - (the default) to read it from stdin; "
        "a file or stdin keeps it out of the shell history",
    )
    imported.set_defaults(func=cmd_token_import)
    for action in (show, renew, imported):
        config_arg(action)
        action.add_argument(
            "--gateway", metavar="LABEL", help="the gateway (serial or host[:port]) when there are several"
        )


def cmd_token_show(args: argparse.Namespace) -> int:
    for gw in _gateways(_load(args), args.gateway):
        store = TokenStore.for_gateway(gw)
        token = gw.token or (store.load() if store else None)
        if not token:
            print(f"{gw.label}: no token yet (configure `token`, run `token import`, or credentials and `token renew`)")
            continue
        info = decode_token(token)
        if gw.token:
            _print_token(gw.label, info, "configured", "config (pasted in the configuration)")
            continue
        meta = store.load_meta() if store else None
        origin = f"{meta.flow}, {_when(meta.obtained_at)}" if meta and meta.describes(info) else "unknown"
        _print_token(gw.label, info, f"cache {gw.token_cache}", origin)
    return 0


def cmd_token_renew(args: argparse.Namespace) -> int:
    config = _load(args)
    cloud = EnphaseCloud(config.cloud)
    try:
        for gw in _gateways(config, args.gateway):
            info, flow = _renew(gw, cloud, args.flow)
            _print_token(gw.label, info, f"renewed, saved to {gw.token_cache}", f"{flow}, {_when(time.time())}")
    finally:
        cloud.close()
    return 0


def _renew(gw: GatewayConfig, cloud: EnphaseCloud, flow: str | None) -> tuple[TokenInfo, str | None]:
    """A new token for `gw` (by `flow` alone, if given), checked offline and at the gateway, kept."""
    store = TokenStore.for_gateway(gw)
    client = EnvoyClient(gw, cloud, store)
    try:
        tokens = TokenManager(gw, _token_serial(client, gw), cloud, store)
        token = tokens.renew(validate=client.check_token, force=True, flow=flow)
    finally:
        client.close()
    return decode_token(token), tokens.flow


def cmd_token_import(args: argparse.Namespace) -> int:
    config = _load(args)
    token = _read_token(args.token)
    gateways = _gateways(config, args.gateway)
    if len(gateways) != 1:
        raise ConfigError(
            f"--gateway: the configuration has {len(gateways)} gateways; say which one the token is for "
            f"({', '.join(gw.label for gw in gateways)})"
        )
    gw = gateways[0]
    store = TokenStore.for_gateway(gw)
    if store is None:
        raise AuthError(f"{gw.label}: no token cache to keep the token in")
    client = EnvoyClient(gw, None, store)
    try:
        serial = _token_serial(client, gw)  # /info is open: the token is not sent yet
        info = check_candidate(token, serial, time.time())  # a bad token stops here: not sent, not kept
        client.check_token(token)  # raises when the gateway refuses it
    finally:
        client.close()
    if not store.save(token, TokenMeta("import", time.time(), info.user_type, info.expires_at)):
        raise AuthError(f"{gw.label}: the token is good, but the token cache {store.path} cannot be written")
    _print_token(gw.label, info, f"imported, saved to {gw.token_cache}", f"import, {_when(time.time())}")
    return 0


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.log_level, config.secrets())
    return config


def _gateways(config: Config, label: str | None) -> tuple[GatewayConfig, ...]:
    if label is None:
        return config.gateways
    chosen = tuple(gw for gw in config.gateways if label in (gw.label, gw.host, gw.serial))
    if not chosen:
        known = ", ".join(gw.label for gw in config.gateways)
        raise ConfigError(f"--gateway {label}: no such gateway in the configuration ({known})")
    return chosen


def _token_serial(client: EnvoyClient, gw: GatewayConfig) -> str:
    """The gateway's serial from its open `/info`, once it is known to want a token."""
    info = client.fetch_info()
    if not info.uses_token_auth:
        raise AuthError(f"{gw.label}: firmware {info.firmware} uses digest auth, not tokens")
    return info.serial


def _read_token(source: str) -> str:
    """The token from stdin (`-`), a file, or the argument itself; never echoed in an error."""
    if source == "-":
        return sys.stdin.read(MAX_TOKEN_BYTES + 1).strip()
    path = Path(source)
    try:
        with path.open("rb") as file:
            return file.read(MAX_TOKEN_BYTES + 1).decode("ascii", "replace").strip()
    except OSError as err:
        if source.count(".") == 2 and "/" not in source:  # no such file: the token itself
            return source.strip()
        raise BridgeError(
            f"the argument is neither a readable file ({err.strerror or type(err).__name__}) "
            "nor a token (three dot-separated parts)"
        ) from None


def _when(epoch: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
    except (OverflowError, OSError, ValueError):  # a claim far beyond the calendar
        return f"epoch {epoch:.0f}"


def _print_token(label: str, info: TokenInfo, source: str, origin: str) -> None:
    print(f"{label}: token ({source})")
    print(f"  serial:    {info.serial}")
    print(f"  user:      {info.username}")
    print(f"  type:      {info.user_type}")
    print(f"  flow:      {origin}")
    print(f"  issued:    {_when(info.issued_at) if info.issued_at else 'unknown'}")
    print(f"  expires:   {_when(info.expires_at)}")
    print(f"  days left: {info.days_left(time.time()):.1f}")
