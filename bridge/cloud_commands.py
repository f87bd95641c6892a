"""The `cloud` commands for the Enphase cloud API v4: `authorize` (the owner's consent, once a
month at most) and `status` (the tokens' expiry, the budget used, the system id; no request).

`authorize` prints the consent URL, takes the address the browser was sent to (or the code
alone) as an argument or at a prompt, exchanges it, and stores the tokens (0600, atomic) in
`cloud-api-tokens.json` beside the token cache. A partner account (`grant: password`) gets its
tokens by the password grant, with no URL. Nothing printed here ever shows a token or a key.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bridge.cloudapi import CloudApiPaths
from bridge.cloudapi.budget import Budget, Limits
from bridge.cloudapi.http import new_session
from bridge.cloudapi.oauth import OAuth, authorize_url, code_from, new_state
from bridge.cloudapi.state import StateFile
from bridge.cloudapi.tokens import CloudTokens, TokenFile
from bridge.config import Config, load_config
from bridge.errors import CloudApiError, ConfigError
from bridge.redaction import setup_logging

PROMPT = "Paste the address your browser was sent to (or just the code): "


def add_cloud_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], config_arg: Callable[[argparse.ArgumentParser], None]
) -> None:
    cloud = sub.add_parser("cloud", help="the Enphase cloud API v4: authorize the bridge, show its status")
    actions = cloud.add_subparsers(required=True, metavar="ACTION")
    authorize = actions.add_parser("authorize", help="get the owner's consent and keep the API tokens")
    authorize.add_argument(
        "code",
        nargs="?",
        metavar="CODE_OR_URL",
        help="the address the browser was sent to after consent, or the code alone (default: asked for)",
    )
    authorize.set_defaults(func=cmd_cloud_authorize)
    status = actions.add_parser("status", help="the tokens' expiry, the requests used, the system id (no request)")
    status.set_defaults(func=cmd_cloud_status)
    for action in (authorize, status):
        config_arg(action)


def cmd_cloud_authorize(args: argparse.Namespace) -> int:
    config = _load(args)
    cfg = config.cloud_api
    file = TokenFile(CloudApiPaths.in_dir(config.cache_dir).tokens)
    session = new_session(cfg)
    try:
        oauth = OAuth(cfg, session, time.time)
        if cfg.grant == "password":
            tokens = oauth.password_grant()
        else:
            tokens = oauth.exchange(_code(cfg_url=lambda state: authorize_url(cfg, state), given=args.code))
    finally:
        session.close()
    if not file.save(tokens):
        raise CloudApiError(f"the tokens were issued but {file.path} cannot be written; run the command again")
    print(f"cloud API: authorized; tokens saved to {file.path}")
    _print_tokens(tokens)
    return 0


def _code(cfg_url: Callable[[str], str], given: str | None) -> str:
    """The code from the argument (its `state` is from an earlier run: not checked), else from
    the prompt after the consent URL (its `state` must be this one's)."""
    if given:
        return code_from(given)
    state = new_state()
    print("1. Open this address in a browser, log in as the system's owner and allow access:")
    print(f"   {cfg_url(state)}")
    print("2. The browser is then sent to the redirect address, which holds the code.")
    sys.stdout.flush()
    pasted = input(PROMPT) if sys.stdin.isatty() else sys.stdin.readline()
    if not pasted.strip():
        raise CloudApiError("nothing was pasted; nothing was stored")
    return code_from(pasted, state)


def cmd_cloud_status(args: argparse.Namespace) -> int:
    config = _load(args)
    cfg = config.cloud_api
    paths = CloudApiPaths.in_dir(config.cache_dir)
    now = time.time()
    tokens = TokenFile(paths.tokens).load()
    state = StateFile(paths.state, own_dir=True)
    usage = Budget(Limits(cfg.per_minute, cfg.per_month, cfg.spread), state.section("budget"), now).usage(now)
    system = state.read("system") or {}
    print(f"cloud API ({cfg.mode}, {cfg.api_url})")
    if tokens is None:
        print(f"  tokens:      none in {paths.tokens}: run `envoy-mqtt-bridge cloud authorize`")
    else:
        _print_tokens(tokens)
    print(f"  system id:   {cfg.system_id or system.get('system_id') or 'not looked up yet'}")
    print(f"  this month:  {usage.month} of {usage.per_month} requests (UTC)")
    print(f"  today:       {usage.today} requests (UTC)")
    print(f"  next call:   {_when(max(now, usage.next_at))}")
    return 0


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.log_level, config.secrets())
    if not config.cloud_api.enabled:
        raise ConfigError("cloud_api: not configured (api_key, client_id and client_secret of your application)")
    return config


def _print_tokens(tokens: CloudTokens) -> None:
    print(f"  access token:  expires {_when(tokens.access_expires_at)} (renewed by the bridge)")
    print(f"  refresh token: expires about {_when(tokens.refresh_expires_at)}; authorize again before then")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
