"""bridge.gateway.transport: statuses, retries inside a budget, transport errors named, redirects, body cap, URLs."""

from __future__ import annotations

import gzip

import pytest
import requests

from bridge.errors import EnvoyDataError, EnvoyHTTPError, EnvoyNotFound, EnvoyUnavailable
from bridge.gateway.transport import MAX_BODY_BYTES
from tests.support.network_failures import refused, unresolvable
from tests.unit.gateway.helpers import DATA, HOST, INFO, info_xml, make_client, urls


@pytest.fixture
def digest_client(rsps, fake):
    """A client past /info on old firmware: data requests carry no token, so the transport shows plainly."""
    rsps.get(INFO, body=info_xml(software="R5.0.62", web_tokens=False))
    client = make_client(fake)
    client.fetch_info()
    return client


def test_404_is_not_found_and_not_retried(rsps, fake, digest_client):
    rsps.get(DATA, status=404)
    with pytest.raises(EnvoyNotFound):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)
    assert fake.sleeps == []


@pytest.mark.parametrize("status, error", [(400, EnvoyHTTPError), (405, EnvoyHTTPError), (500, EnvoyUnavailable)])
def test_other_statuses_are_not_retried(rsps, fake, digest_client, status, error):
    rsps.get(DATA, status=status)
    with pytest.raises(error, match=f"HTTP {status}") as err:
        digest_client.get("/ivp/meters/readings")
    if error is EnvoyHTTPError:
        assert err.value.status == status
    rsps.assert_call_count(DATA, 1)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_unavailable(rsps, fake, digest_client, status):
    rsps.get(DATA, status=status)
    with pytest.raises(EnvoyUnavailable, match=rf"HTTP {status} \(3 attempts\)"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 3)
    assert len(fake.sleeps) == 2 and all(0 <= s <= 10 for s in fake.sleeps)


def test_503_then_200_recovers_within_the_cycle(rsps, fake, digest_client):
    rsps.get(DATA, status=503)
    rsps.get(DATA, json={"ok": True})
    assert digest_client.get("/ivp/meters/readings") == b'{"ok": true}'
    rsps.assert_call_count(DATA, 2)


def test_retry_budget_stops_retries(rsps, fake, digest_client):
    digest_client.retry_budget_s = 1e-9
    rsps.get(DATA, status=503)
    with pytest.raises(EnvoyUnavailable, match=r"\(1 attempt\)"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)


@pytest.mark.parametrize(
    "fault, cause",
    [
        (refused(DATA), "connection refused"),
        (unresolvable(HOST, DATA), "name resolution failed"),
        (requests.exceptions.ReadTimeout("read"), "timed out"),
        (requests.exceptions.ConnectTimeout("connect"), "connect timed out"),
        (requests.exceptions.ChunkedEncodingError("broken"), "connection broken"),
    ],
)
def test_transport_errors_retried_then_named(rsps, fake, digest_client, fault, cause):
    rsps.get(DATA, body=fault)
    with pytest.raises(EnvoyUnavailable, match=f"{HOST} /ivp/meters/readings: {cause}"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 3)


def test_ssl_error_is_not_retried(rsps, fake, digest_client):
    rsps.get(DATA, body=requests.exceptions.SSLError("bad record mac"))
    with pytest.raises(EnvoyUnavailable):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)
    assert fake.sleeps == []


def test_redirect_is_not_followed(rsps, fake, digest_client):
    rsps.get(DATA, status=302, headers={"Location": "https://localhost/home"})
    rsps.get("https://localhost/home", body="login page")
    with pytest.raises(EnvoyDataError, match="HTTP 302 redirect to 'https://localhost/home'"):
        digest_client.get("/ivp/meters/readings")
    assert urls(rsps)[-1] == DATA


def test_body_cap(rsps, fake, digest_client):
    rsps.get(DATA, body=b"x" * (MAX_BODY_BYTES + 1))
    with pytest.raises(EnvoyDataError, match="body too large"):
        digest_client.get("/ivp/meters/readings")
    rsps.assert_call_count(DATA, 1)


def test_gzip_bomb_is_capped_on_the_decoded_stream(rsps, fake, digest_client):
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000
    rsps.get(DATA, body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(EnvoyDataError, match="body too large"):
        digest_client.get("/ivp/meters/readings")


def test_whole_request_deadline(rsps, fake, digest_client):
    ticks = iter(range(0, 10_000, 20))  # every look at the clock: 20 s later (a trickling gateway)
    digest_client.transport.monotonic = lambda: next(ticks)
    rsps.get(DATA, body=b"x" * (300 * 1024))  # several reads
    with pytest.raises(EnvoyUnavailable, match=r"timed out \(no complete answer within 55 s\)"):
        digest_client.get("/ivp/meters/readings")


@pytest.mark.parametrize(
    "host, port, url",
    [
        ("2001:db8::5", None, "https://[2001:db8::5]/info"),
        ("[2001:db8::5]", 8443, "https://[2001:db8::5]:8443/info"),
        ("192.168.1.20", None, "https://192.168.1.20/info"),
        ("192.168.1.20:8443", None, "https://192.168.1.20:8443/info"),
        ("[2001:db8::5]:8443", None, "https://[2001:db8::5]:8443/info"),
        ("envoy.local", 80, "https://envoy.local:80/info"),
    ],
)
def test_base_url_for_names_ipv4_and_ipv6(rsps, fake, host, port, url):
    rsps.get(url, body=info_xml(software="R5.0.62", web_tokens=False))
    make_client(fake, host=host, port=port).fetch_info()
    assert urls(rsps) == [url]


# --- a write is never sent twice ----------------------------------------------------------------

STREAM = "https://envoy.test/ivp/livedata/stream"


@pytest.mark.parametrize(
    "answer",
    [{"status": 503}, {"status": 502}, {"body": requests.exceptions.ReadTimeout("read")}],
    ids=["503", "502", "read timeout"],
)
def test_a_write_that_may_have_arrived_is_not_sent_again(rsps, fake, digest_client, answer):
    rsps.post(STREAM, **answer)
    with pytest.raises(EnvoyUnavailable, match=r"\(1 attempt\)"):
        digest_client.post_json("/ivp/livedata/stream", {"enable": 1})
    rsps.assert_call_count(STREAM, 1)


@pytest.mark.parametrize("fault", [refused(STREAM), requests.exceptions.ConnectTimeout("connect")])
def test_a_write_that_never_left_is_sent_again(rsps, fake, digest_client, fault):
    rsps.post(STREAM, body=fault)
    rsps.post(STREAM, json={"sc_stream": "enabled"})
    assert digest_client.post_json("/ivp/livedata/stream", {"enable": 1}) == b'{"sc_stream": "enabled"}'
    rsps.assert_call_count(STREAM, 2)


def test_every_attempt_is_counted_for_the_health_document(rsps, fake, digest_client):
    rsps.get(DATA, status=503)
    rsps.get(DATA, json={"ok": True})
    digest_client.get("/ivp/meters/readings")
    rsps.get(DATA, status=404)
    with pytest.raises(EnvoyNotFound):
        digest_client.get("/ivp/meters/readings")
    stats = digest_client.stats.snapshot()
    readings = stats["endpoints"]["/ivp/meters/readings"]
    assert (readings["requests"], readings["failures"], readings["auth_refused"]) == (3, 2, 0)
    assert readings["latency_p50_s"] is not None and stats["endpoints"]["/info"]["requests"] == 1


# --- the retry policy, built once -----------------------------------------------------------------


def bare_transport(fake):
    from bridge.config import GatewayConfig
    from bridge.gateway.transport import Transport

    return Transport(GatewayConfig(host=HOST, scheme="https", fingerprint="ab" * 32), fake.sleep, fake.monotonic)


def test_the_retry_policy_follows_a_new_budget_and_a_new_sleep(rsps, fake):
    rsps.get(DATA, status=503)
    transport = bare_transport(fake)
    with pytest.raises(EnvoyUnavailable, match=r"\(3 attempts\)"):
        transport.request("https", "/ivp/meters/readings", {})
    slept: list[float] = []
    transport.sleep = slept.append
    with pytest.raises(EnvoyUnavailable, match=r"\(3 attempts\)"):
        transport.request("https", "/ivp/meters/readings", {})
    assert len(slept) == 2
    transport.retry_budget_s = 1e-9
    with pytest.raises(EnvoyUnavailable, match=r"\(1 attempt\)"):
        transport.request("https", "/ivp/meters/readings", {})
