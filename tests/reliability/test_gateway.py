"""Group E of docs/reliability.md: gateway faults against the simulator (real HTTPS, real token
auth) and the real worker, client, token manager and cloud client, on a fake clock.

Pass means: no crash, one ERROR when the gateway becomes unavailable and one INFO when it
recovers, availability `offline` then `online`, no data published from error answers, and no
cloud login for an outage that a new session cures.
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from bridge.app import sinks_for
from bridge.config import GatewayConfig, PollIntervals
from bridge.errors import EnvoyUnavailable
from bridge.gateway.client import EnvoyClient
from bridge.gateway.worker import BACKOFF_CAP_S, EnvoyWorker
from bridge.simulator import SERVER_CERT, SERVER_KEY
from tests.reliability.rig import SteppedGateway, bridge_config, patched_simulator
from tests.support.clock import FakeClock
from tests.support.loopback import QuietHandler, direct_client, serving
from tests.support.sinks import Recorder

pytestmark = pytest.mark.integration
READINGS = "/ivp/meters/readings"


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)  # recoveries are told at INFO


@pytest.fixture
def rig(tmp_path):
    clock = FakeClock()
    sim, source = patched_simulator(time_func=clock.time)
    sim.start()
    gateway = SteppedGateway(sim, tmp_path, clock)
    gateway.source = source
    yield gateway
    gateway.close()
    sim.stop()


def errors(caplog, level=logging.ERROR):
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def infos(caplog, needle):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and needle in r.getMessage()]


def steady(rig, seconds=120):
    rig.run_for(seconds)
    assert rig.publisher.transitions() == ["online"]


def test_e1_refused_connections_offline_once_jittered_backoff_then_recovered(rig, caplog):
    steady(rig)
    state_before = rig.publisher.last("/state")
    rig.sim.stop_envoy()
    started, sleeps_before = rig.clock.now, rig.clock.slept
    delays = []
    for _ in range(12):
        rig.step()
        delays.append(rig.worker.schedule.seconds_to_next(rig.clock.monotonic()))
    assert rig.publisher.transitions() == ["online", "offline"]
    assert len(errors(caplog)) == 1 and "unavailable" in errors(caplog)[0] and "connection refused" in errors(caplog)[0]
    # At most 3 quick tries per cycle (2 short pauses), then the worker's backoff takes over.
    assert rig.clock.slept - sleeps_before <= 12 * 2 * 10
    assert max(delays) <= BACKOFF_CAP_S and len({round(d) for d in delays}) > 6  # capped, jittered
    assert rig.publisher.last("/state") == state_before  # nothing published while away
    rig.sim.start_envoy()
    took = rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", BACKOFF_CAP_S + 60)
    assert took <= BACKOFF_CAP_S + 1
    assert len(infos(caplog, "recovered")) == 1 and len(errors(caplog)) == 1
    assert rig.clock.now - started < 3 * 3600


def test_e2_read_timeout_is_unavailable_and_every_request_has_a_timeout_tuple(tmp_path, caplog):
    with patched_simulator()[0] as sim:
        clock = FakeClock()
        rig = SteppedGateway(sim, tmp_path, clock, read_timeout=0.3)
        seen = []
        adapter = rig.client.transport.session.get_adapter("https://")  # where every request goes out
        send = adapter.send
        adapter.send = lambda *a, **kw: seen.append(kw["timeout"]) or send(*a, **kw)
        rig.step()
        assert rig.publisher.transitions() == ["online"]
        sim.hang_next(5.0, count=3, path=READINGS)
        rig.clock.advance(10)
        started = time.monotonic()
        rig.step()
        assert time.monotonic() - started < 5  # three attempts of 0.3 s, not three hangs of 5 s
        assert rig.publisher.transitions() == ["online", "offline"]
        assert "timed out" in errors(caplog)[0]
        assert seen and all(t == (2.0, 0.3) for t in seen)  # (connect, read): never None
        rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", BACKOFF_CAP_S)
        rig.close()


def test_e2_connect_timeout_is_named(tmp_path):
    """A listener whose accept queue is full: the SYN is never answered, as with a gateway gone
    from the LAN, on loopback only."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
    try:
        client = direct_client(port, scheme="http", connect_timeout=0.3, read_timeout=1)
        started = time.monotonic()
        with pytest.raises(EnvoyUnavailable, match=r"connect timed out \(3 attempts\)"):
            client.fetch_info()
        assert time.monotonic() - started < 5
        client.close()
    finally:
        filler.close()
        server.close()


class _TrickleHandler(QuietHandler):
    """Sends its status line and headers one byte every 50 ms: every read is quick, the answer never done."""

    def handle_one_request(self):
        self.raw_requestline = self.rfile.readline(65537)
        self.parse_request()
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass
        self.close_connection = True


@pytest.fixture
def trickle_server():
    with serving(_TrickleHandler, (SERVER_CERT, SERVER_KEY)) as port:
        yield port


def test_e3_trickled_headers_over_tls_are_cut_at_the_whole_request_deadline(trickle_server, tmp_path):
    from bridge.simulator.tls import fingerprint

    gateway = GatewayConfig(
        host="127.0.0.1",
        port=trickle_server,
        scheme="https",
        fingerprint=fingerprint(SERVER_CERT),
        connect_timeout=0.5,
        read_timeout=0.5,
    )
    config = bridge_config([gateway], tmp_path, cloud=cloud_config_stub(), poll=PollIntervals())
    clock = FakeClock()
    client = EnvoyClient(gateway, None, None, sleep=lambda s: None)  # no pauses between the attempts
    worker, recorder = recorded_worker(config, client, clock)
    started = time.monotonic()
    worker._step()  # /info trickles for 2.6 s: 3 attempts, each cut at 1 s (connect + read timeouts)
    took = time.monotonic() - started
    assert 2.5 < took < 5.5  # 7.8 s without the whole-request deadline
    assert recorder.transitions() == ["offline"]
    assert worker.diagnostics["errors"] == 1
    # The next poll is not pushed back beyond one meters interval by the slow gateway.
    assert worker.schedule.seconds_to_next(clock.monotonic()) <= worker.config.poll.meters
    worker.client.close()


def recorded_worker(config, client, clock: FakeClock) -> tuple[EnvoyWorker, Recorder]:
    """The real worker of the one gateway of `config` on `clock`, its sinks recorded, and its
    backoff without jitter (always the ceiling), so the delays are known."""
    recorder = Recorder()
    gateway = config.gateways[0]
    sinks = sinks_for(config, gateway, recorder)
    worker = EnvoyWorker(
        gateway, config, sinks, client=client, monotonic=clock.monotonic, wall=clock.time, rng=lambda a, b: b
    )
    return worker, recorder


def cloud_config_stub():
    from bridge.config import CloudConfig

    return CloudConfig(enlighten_url="https://127.0.0.1:9", entrez_url="https://127.0.0.1:9")


def test_e4_nightly_outage_one_transition_each_way_and_no_cloud_login(rig, caplog):
    steady(rig)
    cloud, sessions = dict(rig.sim.cloud_counts), rig.sim.request_counts["/auth/check_jwt"]
    rig.sim.stop_envoy()  # 23:00: the gateway resets itself for a few minutes
    rig.run_for(5 * 60)
    rig.sim.revoke_sessions()  # it rebooted: its sessions are gone, the token is still good
    rig.sim.start_envoy()
    rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", BACKOFF_CAP_S + 60)
    rig.run_for(600)
    assert rig.publisher.transitions() == ["online", "offline", "online"]
    assert len(errors(caplog, logging.WARNING)) == 1  # the ERROR; no warning per failed poll
    assert len(infos(caplog, "recovered")) == 1
    assert rig.sim.request_counts["/auth/check_jwt"] == sessions + 1  # one new session ...
    assert rig.sim.cloud_counts == cloud  # ... and not a new token: no login, no token asked for


@pytest.mark.parametrize("status, attempts", [(503, 3), (502, 3), (500, 1)])
def test_e5_5xx_after_boot_retried_within_budget_then_offline_and_no_data_from_the_error(rig, caplog, status, attempts):
    steady(rig)
    published = len(rig.publisher.history("/state"))
    rig.sim.reset_counts()
    rig.sim.fail_next(status, count=10_000, path=READINGS)
    rig.step()
    assert rig.sim.request_counts[READINGS] == attempts
    assert rig.publisher.transitions() == ["online", "offline"]
    assert len(rig.publisher.history("/state")) == published  # the error body was never data
    assert f"HTTP {status}" in errors(caplog)[0]
    rig.sim.clear_faults()
    rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", BACKOFF_CAP_S)
    assert json.loads(rig.publisher.last("/state"))["meters"]


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", b"<!DOCTYPE html><html><body><h1>Envoy</h1><p>Please log in</p></body></html>"),
        (302, "text/html", b""),
        (301, "text/html", b"Moved"),
    ],
)
def test_e6_html_or_redirect_is_a_data_error_for_that_endpoint_only(rig, caplog, answer):
    steady(rig)
    rig.source.overrides[READINGS] = answer
    rig.run_for(60)
    state = json.loads(rig.publisher.last("/state"))
    assert "meters" not in state and state["production"]  # the rest still flows
    assert rig.publisher.transitions() == ["online"]
    warnings = [m for m in errors(caplog, logging.WARNING) if READINGS in m]
    assert len(warnings) == 1  # once per transition, not per poll
    assert (
        ("redirect" in warnings[0] and "not followed" in warnings[0]) if answer[0] != 200 else "not JSON" in warnings[0]
    )
    del rig.source.overrides[READINGS]
    rig.run_for(20)
    assert "meters" in json.loads(rig.publisher.last("/state"))


def test_e7_a_poll_slower_than_its_interval_never_overlaps_nor_bursts(rig):
    steady(rig, 30)
    rig.sim.reset_counts()
    # Every meters read now takes 25 s of the fake clock: 2.5 intervals.
    get = rig.client.get

    def slow_get(endpoint, probing=False):
        body = get(endpoint, probing)
        if endpoint == READINGS:
            rig.clock.advance(25)
        return body

    rig.client.get = slow_get
    rig.run_for(600)
    polls = rig.sim.request_counts[READINGS]
    assert polls <= 600 / 25 + 1  # no catch-up burst after each slow poll
    assert rig.source.max_active == 1  # one request at a time, ever


def test_e8_wall_clock_steps_move_token_expiry_not_the_schedule(tmp_path):
    clock = FakeClock()
    sim, _ = patched_simulator(time_func=clock.time, cloud_user_type="installer")
    with sim:
        rig = SteppedGateway(sim, tmp_path, clock)
        rig.step()
        tokens = rig.client._auth.tokens
        rig.clock.advance(9 * 3600)  # 3 h left of a 12 h installer token: renewal not due yet
        due = dict(rig.worker.schedule.next_due)
        assert not tokens.renewal_due()
        rig.clock.offset = 3600  # NTP steps the wall clock forward an hour: 2 h left
        assert tokens.renewal_due()
        assert rig.worker.schedule.next_due == due  # monotonic scheduling is untouched
        rig.clock.offset = -3600
        assert not tokens.renewal_due()
        assert rig.worker.schedule.seconds_to_next(rig.clock.monotonic()) == 0.0
        rig.close()


@pytest.fixture
def no_dns(monkeypatch):
    """Names under .invalid (RFC 6761) never resolve; answered here so no DNS query leaves the host."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_e9_unresolvable_name_is_unavailable_name_resolution_and_retried(no_dns, tmp_path, caplog):
    gateway = GatewayConfig(
        host="nonexistent.invalid", scheme="https", insecure=True, connect_timeout=1, read_timeout=1
    )
    config = bridge_config([gateway], tmp_path, cloud=cloud_config_stub())
    clock = FakeClock()
    slept = []
    client = EnvoyClient(gateway, None, None, sleep=slept.append, monotonic=clock.monotonic, clock=clock.time)
    worker, recorder = recorded_worker(config, client, clock)
    for _ in range(3):
        clock.advance(worker.schedule.seconds_to_next(clock.monotonic()))
        worker._step()
    assert recorder.transitions() == ["offline"]
    message = errors(caplog)[0]
    assert "name resolution failed" in message and "(3 attempts)" in message
    assert len(errors(caplog)) == 1 and len(slept) == 3 * 2  # retried like E1, every cycle
    client.close()


def test_e10_firmware_update_outage_then_401_then_new_version_everywhere(rig, caplog):
    steady(rig)
    assert json.loads(next(iter(rig.publisher.discovery.values())))["device"]["sw_version"] == "8.2.4382"
    logins = rig.sim.cloud_counts.get("login", 0)
    rig.sim.stop_envoy()
    rig.run_for(15 * 60)  # Enphase pushes firmware: a long reboot
    rig.source.firmware = "8.3.5167"
    rig.sim.revoke_token()  # the new firmware refuses the old token...
    rig.sim.revoke_sessions()  # ...and forgot its sessions
    rig.sim.start_envoy()
    rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", BACKOFF_CAP_S + 60)
    rig.run_for(120)
    assert rig.sim.cloud_counts.get("login", 0) == logins + 1  # the A2 path, then one renewal (A3)
    assert json.loads(rig.publisher.last("/state"))["firmware"] == "8.3.5167"
    device = json.loads(next(iter(rig.publisher.discovery.values())))["device"]
    assert device["sw_version"] == "8.3.5167"
    state = json.loads(rig.publisher.last("/state"))
    assert state["meters"] and state["production"]  # every endpoint probed again, not only the first
    assert rig.publisher.transitions() == ["online", "offline", "online"]
    assert infos(caplog, "8.3.5167")
