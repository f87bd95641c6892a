"""bridge.auth.local: the token a gateway already has (config or cache), checked offline, with its origin."""

from __future__ import annotations

import logging

import pytest

from bridge.auth.local import choose_local, remembered_flow
from bridge.auth.store import TokenMeta, TokenStore
from bridge.auth.tokens import DAY_S, decode_token
from bridge.config import GatewayConfig
from bridge.errors import AuthError
from tests.support.tokens import HOUR, NOW, SERIAL, make_token, odd_token


def meta(token, flow="entrez_form"):
    info = decode_token(token)
    return TokenMeta(flow, NOW - HOUR, info.user_type, info.expires_at)


def store_with(tmp_path, token, flow=None):
    store = TokenStore(tmp_path / "token")
    store.save(token, meta(token, flow) if flow else None)
    return store


def choose(tmp_path, *, configured=None, cached=None, flow=None, can_renew=True):
    store = store_with(tmp_path, cached, flow) if cached else None
    gateway = GatewayConfig(host="envoy.local", token=configured)
    return choose_local(gateway, SERIAL, store, store.load_meta() if store else None, can_renew)


def test_a_cached_token_carries_the_flow_its_metadata_names(tmp_path):
    cached = make_token(100 * DAY_S)
    local = choose(tmp_path, cached=cached, flow="entrez_form")
    assert (local.token, local.source, local.flow, local.obtained_at) == (cached, "cache", "entrez_form", NOW - HOUR)


def test_metadata_of_another_token_is_not_believed(tmp_path):
    cached = make_token(100 * DAY_S)
    store = store_with(tmp_path, cached)
    stale = meta(make_token(50 * DAY_S))  # the cache was replaced by other means since
    local = choose_local(GatewayConfig(host="envoy.local"), SERIAL, store, stale, True)
    assert (local.token, local.flow, local.obtained_at) == (cached, None, None)


def test_the_newest_wins_and_a_configured_token_says_config(tmp_path):
    pasted, renewed = make_token(10 * DAY_S), make_token(300 * DAY_S)
    assert choose(tmp_path / "a", configured=pasted).flow == "config"
    local = choose(tmp_path / "b", configured=pasted, cached=renewed, flow="entrez_json")
    assert (local.token, local.flow) == (renewed, "entrez_json")


def test_a_merely_expired_token_is_kept_for_renewal(tmp_path):
    local = choose(tmp_path, configured=make_token(-HOUR))
    assert local is not None and local.info.expired(NOW)


@pytest.mark.parametrize(
    "bad, check",
    [(make_token(DAY_S, aud="999999999999"), "aud"), (odd_token(iss="Nobody"), "iss"), ("x.y.z", "format")],
)
def test_a_bad_cached_token_is_ignored_with_the_check_named(tmp_path, caplog, bad, check):
    (tmp_path / "token").write_text(bad)  # written by hand: the store only writes what it can read
    (tmp_path / "token").chmod(0o600)
    store = TokenStore(tmp_path / "token")
    with caplog.at_level(logging.WARNING):
        assert choose_local(GatewayConfig(host="envoy.local"), SERIAL, store, None, True) is None
    assert f"(offline check: {check})" in caplog.text or "does not hold a readable token" in caplog.text


def test_a_bad_configured_token_that_nothing_can_replace_is_an_error(tmp_path):
    with pytest.raises(AuthError, match=r"configured token is unusable: .*issued for gateway 999999999999.*check: aud"):
        choose(tmp_path, configured=make_token(DAY_S, aud="999999999999"), can_renew=False)


def test_only_a_cloud_flow_is_remembered():
    token = make_token(DAY_S)
    assert remembered_flow(meta(token, "enlighten_get")) == "enlighten_get"
    assert remembered_flow(meta(token, "import")) is None
    assert remembered_flow(None) is None
