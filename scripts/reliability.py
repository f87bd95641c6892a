#!/usr/bin/env python3
"""Measure the reliability scenarios of docs/reliability.md and write their table there.

    python scripts/reliability.py                     # the scenarios (~1-2 min), printed
    python scripts/reliability.py --write             # ...and written into docs/reliability.md
    python scripts/reliability.py --endurance 100000  # the long fake-clock run (~20 min), same options

Everything runs on loopback: real Mosquitto processes, the HTTPS simulator, the real bridge. Time
to recover is wall time for broker scenarios and simulated time (fake clock) for gateway and
token scenarios. Peak memory is the Python heap of this whole process (tracemalloc), the
in-process simulator included. The pass/fail assertions live in tests/reliability/test_*.py;
this script records the figures.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.app import Bridge  # noqa: E402
from bridge.auth.tokens import DAY_S  # noqa: E402
from bridge.config import PollIntervals  # noqa: E402
from bridge.mqtt.publisher import Publisher  # noqa: E402
from bridge.simulator import Simulator  # noqa: E402
from tests.reliability.endurance import memory_slope_kib, run  # noqa: E402
from tests.reliability.rig import (  # noqa: E402
    FAST,
    Recorder,
    SteppedGateway,
    bridge_config,
    cloud_config,
    expected_topics,
    fast_config,
    gateway_config,
    patched_simulator,
    publisher_outage,
)
from tests.support.clock import FakeClock  # noqa: E402
from tests.support.mqtt import Mosquitto, Subscriber, wait_for  # noqa: E402

DOC = REPO / "docs" / "reliability.md"
SLOW = PollIntervals(meters=300, grid=300, energy=300, inverters=300, batteries=300, info=3600)
ROWS: list[tuple] = []


def scenario(ids: str, title: str):
    """Run the decorated function under tracemalloc; it returns (recover, lost, logins, notes[, peak MiB])."""

    def wrap(fn):
        def runner(folder: Path):
            tracemalloc.start()
            started = time.monotonic()
            peak = None
            try:
                recover, lost, logins, notes, *own_peak = fn(folder)
                peak = own_peak[0] if own_peak else None
            except Exception as err:
                recover, lost, logins, notes = "-", "-", "-", f"FAILED: {type(err).__name__}: {err}"[:200]
            peak = peak if peak is not None else tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            ROWS.append((ids, title, recover, lost, logins, f"{peak:.1f} MiB", notes))
            print(f"{ids:8} {title:55} {time.monotonic() - started:6.1f} s  {notes}", flush=True)

        runner.__name__ = fn.__name__
        return runner

    return wrap


# --- broker ----------------------------------------------------------------------------------


def arrival(broker, sim, timeout=30.0) -> tuple[float, int]:
    """Seconds until a fresh subscriber holds every expected topic, and how many never came."""
    started = time.monotonic()
    sub = Subscriber(broker.host, broker.port)
    try:
        wait_for(lambda: expected_topics(sim) <= set(sub.messages), timeout, message="every topic")
    except AssertionError:
        pass
    finally:
        sub.close()
    return time.monotonic() - started, len(expected_topics(sim) - set(sub.messages))


def bridge_run(sim, folder, broker):
    bridge = Bridge(fast_config(sim, folder, broker)).start()
    threading.Thread(target=bridge.run_forever, daemon=True).start()
    return bridge


@scenario("F1", "broker down at start, appears after 3 polls")
def broker_down_at_start(folder):
    broker = Mosquitto(folder)
    with Simulator() as sim:
        bridge = bridge_run(sim, folder, broker)
        try:
            wait_for(lambda: sim.request_counts.get("/ivp/meters/readings", 0) >= 3, 30)
            broker.start()
            took, lost = arrival(broker, sim)
        finally:
            bridge.stop(2)
            broker.stop()
        return f"{took:.1f} s", f"{lost} topics", sim.cloud_counts.get("login", 0), "polled while the broker was away"


def broker_restart(folder, persistence: bool, kill: bool):
    broker = Mosquitto(folder, persistence=persistence).start()
    with Simulator() as sim:
        bridge = bridge_run(sim, folder, broker)
        try:
            arrival(broker, sim)
            broker.kill() if kill else broker.stop()
            wait_for(lambda: not bridge.publisher.connected, 15)
            broker.start()
            took, lost = arrival(broker, sim)
            connects = bridge.publisher.monitor.stats["connects"]
        finally:
            bridge.stop(2)
            broker.stop()
        return f"{took:.1f} s", f"{lost} topics", sim.cloud_counts.get("login", 0), f"{connects} connects"


@scenario("F2, F3", "broker killed (kill -9), restarted empty")
def broker_killed(folder):
    return broker_restart(folder, persistence=False, kill=True)


@scenario("F4", "broker stopped, restarted with persistence")
def broker_persistent(folder):
    return broker_restart(folder, persistence=True, kill=False)


@scenario("F5", "broker away 24 h, 3 gateways, 1 poll/s (86,400 cycles)")
def broker_day_down(folder):
    result = publisher_outage(86_400, 3)  # measures its own heap (tracemalloc restarted inside)
    return (
        "-",
        "0 (latest value per topic kept)",
        0,
        (
            f"paho queue {result['paho_queue']}, {result['held_topics']} topics held, heap growth "
            f"{result['memory_growth_kib']:.0f} KiB, {result['skipped_offline']:,} publishes held back"
        ),
        result["peak_kib"] / 1024,
    )


@scenario("F7", "two bridges with one client id")
def duplicate_client_id(folder):
    broker = Mosquitto(folder).start()
    logs = _Lines()
    pubs = []
    try:
        config = bridge_config([], folder, broker=broker, client_id="same-id")
        pubs = [Publisher(config.mqtt, config.homeassistant) for _ in range(2)]
        started = time.monotonic()
        for pub in pubs:
            pub.start()
        wait_for(lambda: any(p.monitor.flapping for p in pubs), 60)
        took = time.monotonic() - started
    finally:
        for pub in pubs:
            pub.stop()
        broker.stop()
        logs.close()
    return f"detected in {took:.1f} s", "-", 0, f"{logs.errors} ERROR line(s) naming the client id"


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors = self.warnings = 0
        logging.getLogger().addHandler(self)

    def emit(self, record):
        self.errors += record.levelno >= logging.ERROR
        self.warnings += record.levelno >= logging.WARNING

    def close(self):
        logging.getLogger().removeHandler(self)
        super().close()


# --- gateway and tokens (fake clock) ---------------------------------------------------------


def stepped(folder, poll=None, cached_lifetime=None, **sim_kw):
    clock = FakeClock()
    sim, source = patched_simulator(time_func=clock.time, **sim_kw)
    sim.start()
    if cached_lifetime:
        from bridge.auth.store import TokenStore

        TokenStore(folder / f"token-{sim.serial}.jwt").save(sim.issue_token(lifetime_s=cached_lifetime))
    rig = SteppedGateway(sim, folder, clock, poll=poll)
    rig.source = source
    return rig


def until_online(rig, limit=3600.0) -> float:
    return rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", limit)


def gateway_outage(folder, minutes: float, reboot: bool, firmware: str | None = None):
    rig = stepped(folder)
    lines = _Lines()
    try:
        rig.run_for(120)
        logins = rig.sim.cloud_counts.get("login", 0)
        rig.sim.stop_envoy()
        rig.run_for(minutes * 60)
        if firmware:
            rig.source.firmware = firmware
            rig.sim.revoke_token()
        if reboot:
            rig.sim.revoke_sessions()
        rig.sim.start_envoy()
        took = until_online(rig)
        rig.run_for(300)
        new_logins = rig.sim.cloud_counts.get("login", 0) - logins
        notes = f"{' -> '.join(rig.publisher.transitions())}; {lines.warnings} WARNING+ line(s)"
        return f"{took:.0f} s (sim)", "0 (latest state after recovery)", new_logins, notes
    finally:
        lines.close()
        rig.close()
        rig.sim.stop()


@scenario("E1", "gateway refuses connections for 30 min")
def gateway_refused(folder):
    return gateway_outage(folder, 30, reboot=False)


@scenario("E4", "nightly 23:00 reset: 5 min away, sessions lost")
def nightly(folder):
    return gateway_outage(folder, 5, reboot=True)


@scenario("E10", "firmware update: 15 min away, then the old token refused")
def firmware_update(folder):
    return gateway_outage(folder, 15, reboot=True, firmware="8.3.5167")


@scenario("A12", "401 on every request for a day")
def refused_everything(folder):
    rig = stepped(folder, poll=SLOW, cached_lifetime=365 * DAY_S)
    lines = _Lines()
    try:
        rig.run_for(60)
        for pattern in ("/ivp/*", "/production*", "/api/*"):
            rig.sim.fail_next(401, count=10**9, path=pattern)
        rig.run_for(DAY_S)
        return "-", "-", rig.sim.cloud_counts.get("login", 0), f"{lines.warnings} WARNING+ line(s) in the day"
    finally:
        lines.close()
        rig.close()
        rig.sim.stop()


@scenario("A6", "installer tokens (12 h) for two days")
def installer(folder):
    rig = stepped(folder, poll=SLOW, cloud_user_type="installer")
    try:
        rig.run_for(2 * DAY_S)
        return "-", "-", rig.sim.cloud_counts.get("login", 0), f"{' -> '.join(rig.publisher.transitions())}"
    finally:
        rig.close()
        rig.sim.stop()


@scenario("A9", "cloud down while the token expires (gateway reboots)")
def cloud_down_expired(folder):
    rig = stepped(folder, poll=SLOW, cached_lifetime=3600)
    try:
        rig.run_for(60)
        rig.sim.cloud_mode = "down"
        rig.run_for(2 * 3600)
        rig.sim.revoke_sessions()
        rig.run_for(DAY_S)
        attempts = rig.sim.cloud_counts.get("login", 0)
        rig.sim.cloud_mode = "ok"
        took = until_online(rig, 7 * 3600)
        return (
            f"{took:.0f} s (sim) after the cloud is back: the circuit's wait",
            "-",
            f"{attempts} attempts in the day",
            "circuit 15 min doubling to 6 h, 3 quick tries each; no crash loop",
        )
    finally:
        rig.close()
        rig.sim.stop()


@scenario("L4", "gateway and broker away for 24 h: log lines")
def log_volume(folder):
    rig = stepped(folder)
    lines = _Lines()
    config = bridge_config([], folder)
    publisher = Publisher(config.mqtt, config.homeassistant, clock=rig.clock.monotonic)
    publisher.monitor.starting()
    publisher.monitor.connect_failed("connection refused")
    try:
        rig.run_for(120)
        rig.sim.stop_envoy()
        end = rig.clock.now + DAY_S
        while rig.clock.now < end:
            rig.step()
            publisher.tick()
        return "-", "-", 0, f"{rig.steps} polls, {lines.warnings} WARNING+ line(s), INFO reminder every 10 min"
    finally:
        lines.close()
        rig.close()
        rig.sim.stop()


# --- load and input --------------------------------------------------------------------------


@scenario("L1, L5", "20 gateways: startup, then one hangs")
def twenty(folder):
    secret = b"one Enphase cloud signs for every gateway of the house"
    sims = [Simulator(serial=f"9990000001{i:02d}", token_secret=secret).start() for i in range(20)]
    config = bridge_config([gateway_config(s, folder) for s in sims], folder, cloud=cloud_config(sims[0]), poll=FAST)
    bridge = Bridge(config, publisher=Recorder())
    try:
        started = time.monotonic()
        bridge.start()
        wait_for(lambda: all(w.available for w in bridge.workers), 90)
        startup = time.monotonic() - started
        sims[7].hang_next(30.0, count=10**6)
        others = [s for i, s in enumerate(sims) if i != 7]
        before = [s.request_counts.get("/ivp/meters/readings", 0) for s in others]
        window = time.monotonic()
        wait_for(
            lambda: (
                min(s.request_counts.get("/ivp/meters/readings", 0) - b for s, b in zip(others, before, strict=True))
                >= 5
            ),
            60,
        )
        polls = time.monotonic() - window
        counts = sims[0].cloud_counts
        return (
            f"all online in {startup:.1f} s",
            "-",
            f"{counts['login']} login, {counts['tokens_issued']} tokens",
            f"with one hung: 5 polls of each of 19 others in {polls:.1f} s (1 s interval)",
        )
    finally:
        bridge.stop(1)
        for sim in sims:
            sim.stop()


@scenario("B5", "50 MiB body on one endpoint")
def big_body(folder):
    rig = stepped(folder)
    try:
        rig.run_for(30)
        rig.source.overrides["/ivp/meters/readings"] = (200, "application/json", b'{"x":"' + b"a" * 50 * 2**20 + b'"}')
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]  # the simulator's copy of the body is not the bridge's
        rig.run_for(30)
        peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        return (
            "-",
            "meters only (others published)",
            0,
            "read capped at 2 MiB: `body too large`; peak is above the simulator's own 50 MiB",
            peak,
        )
    finally:
        rig.close()
        rig.sim.stop()


# --- output ----------------------------------------------------------------------------------

HEADER = (
    "| id | scenario | time to recover | messages lost | cloud logins | peak heap | notes |\n"
    "|---|---|---|---|---|---|---|\n"
)


def table() -> str:
    return HEADER + "".join("| " + " | ".join(str(c) for c in row) + " |\n" for row in ROWS)


def endurance_text(cycles: int, folder: Path) -> str:
    broker = Mosquitto(folder).start()
    config = bridge_config([], folder, broker=broker)
    publisher = Publisher(config.mqtt, config.homeassistant)
    publisher.start()
    publisher.wait_connected(10)

    def restart_broker(done: int, rig) -> None:  # a broker restart at 30 % and 60 % of the run
        if done in (3 * cycles // 10, 6 * cycles // 10):
            broker.kill()
            broker.start()
            publisher.wait_connected(30)

    try:
        r = run(cycles, folder, publisher, warmup=min(2000, cycles), on_checkpoint=restart_broker)
    finally:
        publisher.stop()
        broker.stop()
    slope = memory_slope_kib(r["checkpoints_kib"])
    return (
        f"{r['cycles']:,} cycles ({r['fake_days']} simulated days, {r['requests']:,} HTTP requests answered "
        f"in memory, {r['availability_changes']} availability changes, {r['cloud_logins']} cloud logins, "
        f"two broker restarts) in {r['seconds']:.0f} s of wall time, after a warm-up:\n\n"
        f"| heap growth | per tenth, second half | heap checkpoints (KiB) | threads | file descriptors | "
        f"paho queue (max / end) | WARNING+ lines | schedule drift |\n|---|---|---|---|---|---|---|---|\n"
        f"| {r['memory_growth_kib']} KiB | {slope:.0f} KiB | {', '.join(map(str, r['checkpoints_kib']))} | "
        f"{r['thread_growth']:+d} | {r['fd_growth']:+d} | {r['max_paho_queue']} / {r['paho_queue']} | "
        f"{r['warning_lines']} | {r['drift_s']} s (interval {r['interval_s']:g} s) |\n"
    )


def replace_section(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text:
        raise SystemExit(f"{DOC} has no {start} ... {end} section")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    return pattern.sub(lambda m: f"{start}\n{body}{end}", text)


SCENARIOS = [
    broker_down_at_start,
    broker_killed,
    broker_persistent,
    broker_day_down,
    duplicate_client_id,
    gateway_refused,
    nightly,
    firmware_update,
    refused_everything,
    installer,
    cloud_down_expired,
    log_volume,
    twenty,
    big_body,
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write the figures into {DOC.relative_to(REPO)}")
    parser.add_argument("--endurance", type=int, metavar="CYCLES", help="run the long fake-clock run instead")
    parser.add_argument("-k", default="", help="only scenarios whose function name contains this")
    args = parser.parse_args(argv)
    root = logging.getLogger()  # WARNING records are counted by the scenarios, not printed
    root.handlers[:] = [logging.NullHandler()]
    root.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        if args.endurance:
            section, body = "endurance", endurance_text(args.endurance, Path(tmp))
        else:
            for index, fn in enumerate(s for s in SCENARIOS if args.k in s.__name__):
                folder = Path(tmp) / str(index)
                folder.mkdir()
                fn(folder)
            section, body = "measured", table()
    print(body)
    if args.write:
        DOC.write_text(replace_section(DOC.read_text(), section, body))
        print(f"written to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
