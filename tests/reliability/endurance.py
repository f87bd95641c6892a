"""L3 endurance: the real bridge (worker, client, token manager, cloud client, publisher) for many
poll cycles on a fake clock with mixed faults, its HTTP answered in memory, so that 100,000
cycles take minutes. Used by tests/reliability/test_load.py (short) and scripts/reliability.py
(`--endurance 100000`).

What is measured after a warm-up: Python heap growth (tracemalloc), threads, open file
descriptors, paho's queue, the WARNING+ log lines, and schedule drift (how late a poll ran
against its due time while the gateway was healthy).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import random
import threading
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from bridge.app import sinks_for
from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.config import CloudConfig, GatewayConfig, PollIntervals
from bridge.gateway.client import EnvoyClient
from bridge.gateway.worker import EnvoyWorker
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource
from tests.reliability.rig import bridge_config
from tests.support.clock import FakeClock

SECRET = "endurance-signing-key-long-enough-for-hs256"
# Fault -> probability per cycle. Most cycles are healthy, as in life. Outages last a while in
# simulated time (not in cycles: while offline the bridge polls less often, by design).
FAULTS = {"down": 0.02, "503": 0.02, "session": 0.02, "bad_body": 0.02, "revoked": 0.005, "cloud_down": 0.005}
GATEWAY_DOWN_S = (10, 600)  # a reboot, the nightly reset, a Wi-Fi hiccup
CLOUD_DOWN_S = (60, 3600)


class MemoryGateway(HTTPAdapter):
    """A gateway and the Enphase cloud answered in memory: token auth, sessions, faults."""

    def __init__(self, clock: FakeClock, serial: str):
        super().__init__()
        self.clock, self.serial = clock, serial
        self.source = CaptureSource(DEFAULT_CAPTURE)
        self.valid_tokens: set[str] = set()
        self.sessions: set[str] = set()
        self.down_until = 0.0  # fake clock (time()): refused connections until then
        self.once: set[str] = set()  # one-shot faults: "503", "bad_body"
        self.cloud_down_until = 0.0
        self.requests = 0
        self.logins = 0

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests += 1
        parts = urlsplit(request.url)
        if parts.path in ("/login/login.json", "/tokens"):
            return self._cloud(request, parts.path)
        if self.down:
            raise requests.exceptions.ConnectionError("[Errno 111] Connection refused")
        if parts.path == "/info":
            status, ctype, body = self.source.answer("/info", "")
            return self._reply(request, status, body, ctype)
        if parts.path == "/auth/check_jwt":
            token = (request.headers.get("Authorization") or "")[7:]
            if token not in self.valid_tokens:
                return self._reply(request, 401, b"<h2>Invalid token.</h2>")
            session = f"s{random.getrandbits(48):x}"
            self.sessions = {*list(self.sessions)[-3:], session}  # a gateway keeps a few: bounded here too
            return self._reply(request, 200, b"<h2>Valid token.</h2>", headers={"Set-Cookie": f"sessionId={session}"})
        cookie = (request.headers.get("Cookie") or "").partition("=")[2]
        if cookie not in self.sessions:
            return self._reply(request, 401, b'{"status":401}')
        if "503" in self.once:
            self.once.discard("503")
            return self._reply(request, 503, b'{"status":503}')
        status, ctype, body = self.source.answer(parts.path, parts.query)
        if "bad_body" in self.once and parts.path == "/ivp/meters/readings":
            self.once.discard("bad_body")
            body = body[: len(body) // 2]
        return self._reply(request, status, body, ctype)

    @property
    def down(self) -> bool:
        return self.clock.time() < self.down_until

    def _cloud(self, request, path):
        if self.clock.time() < self.cloud_down_until:
            return self._reply(request, 503, b"{}")
        if path == "/login/login.json":
            self.logins += 1
            return self._reply(request, 200, json.dumps({"session_id": "cloud-session"}).encode(), "application/json")
        serial = json.loads(request.body)["serial_num"]
        now = int(self.clock.time())
        token = jwt.encode(
            {
                "aud": serial,
                "iss": "Entrez",
                "enphaseUser": "owner",
                "iat": now,
                "exp": now + 365 * 86400,
                "jti": f"{random.getrandbits(32):x}",
                "username": "owner@example.com",
            },
            SECRET,
            algorithm="HS256",
        )
        self.valid_tokens.add(token)
        return self._reply(request, 200, token.encode(), "text/plain")

    def _reply(self, request, status, body, ctype="text/html", headers=None):
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=HTTPHeaderDict({"Content-Type": ctype, **(headers or {})}),
            status=status,
            preload_content=False,
            decode_content=True,
        )
        return self.build_response(request, raw)

    def revoke_tokens(self):
        self.valid_tokens.clear()
        self.sessions.clear()


def _fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


class Endurance:
    def __init__(self, folder: Path, publisher, seed: int = 1):
        self.clock = FakeClock()
        self.rng = random.Random(seed)
        self.gateway = GatewayConfig(
            host="envoy.invalid",
            scheme="https",
            insecure=True,
            username="owner@example.com",
            password="endurance-password",
            token_cache=folder / "token.jwt",
        )
        poll = PollIntervals()
        cloud_cfg = CloudConfig(enlighten_url="https://cloud.invalid", entrez_url="https://cloud.invalid")
        self.config = bridge_config([self.gateway], folder, cloud=cloud_cfg, poll=poll)
        self.fake = MemoryGateway(self.clock, "999000000001")
        self.cloud = EnphaseCloud(cloud_cfg, sleep=self.clock.sleep, monotonic=self.clock.monotonic)
        self.cloud._session.mount("https://", self.fake)
        self.client = EnvoyClient(
            self.gateway,
            self.cloud,
            TokenStore(self.gateway.token_cache),
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
            clock=self.clock.time,
        )
        self.client.transport.session.mount("https://", self.fake)
        self.publisher = publisher
        self.worker = EnvoyWorker(
            self.gateway,
            self.config,
            sinks_for(self.config, self.gateway, publisher),
            client=self.client,
            monotonic=self.clock.monotonic,
            wall=self.clock.time,
            rng=self.rng.uniform,
        )
        self.drift = 0.0
        self.max_queue = 0
        self.changes = 0

    def _inject(self) -> None:
        fake, now = self.fake, self.clock.time()
        for fault, probability in FAULTS.items():
            if self.rng.random() >= probability:
                continue
            if fault == "down":
                fake.down_until = now + self.rng.uniform(*GATEWAY_DOWN_S)
            elif fault == "session":
                fake.sessions.clear()
            elif fault == "revoked":
                fake.revoke_tokens()
            elif fault == "cloud_down":
                fake.cloud_down_until = now + self.rng.uniform(*CLOUD_DOWN_S)
            else:
                fake.once.add(fault)

    def step(self) -> None:
        due = min(self.worker.schedule.next_due.values())
        self.clock.now = max(self.clock.now, due + self.clock.start)
        late = self.clock.monotonic() - due
        healthy = not self.fake.down and self.worker.available
        self._inject()
        was = self.worker.available
        self.worker._step()
        self.changes += was is not None and was != self.worker.available
        if healthy:
            self.drift = max(self.drift, late)
        tick = getattr(self.publisher, "tick", None)
        if tick:
            tick()
        self.max_queue = max(self.max_queue, getattr(self.publisher, "queued", 0))

    def close(self) -> None:
        self.client.close()
        self.cloud.close()


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = 0

    def emit(self, record):
        self.lines += 1


def run(cycles: int, folder: Path, publisher, seed: int = 1, warmup: int | None = None, on_checkpoint=None) -> dict:
    """Run `cycles` poll cycles; measure growth between the end of the warm-up and the end."""
    warmup = warmup if warmup is not None else max(200, cycles // 10)
    rig = Endurance(folder, publisher, seed)
    counter = _Count()
    root = logging.getLogger()
    kept = list(root.handlers)  # e.g. pytest's capture, which keeps every record: not ours to measure
    root.handlers[:] = [counter]
    started = time.monotonic()
    try:
        for _ in range(warmup):
            rig.step()
        publisher.flush(5)
        gc.collect()
        tracemalloc.start()
        base_mem, _ = tracemalloc.get_traced_memory()
        base_threads, base_fds, base_lines = threading.active_count(), _fds(), counter.lines
        checkpoints = []
        for i in range(cycles):
            rig.step()
            if on_checkpoint and (i + 1) % max(1, cycles // 10) == 0:
                on_checkpoint(i + 1, rig)
            if (i + 1) % max(1, cycles // 10) == 0:
                # Messages still in flight (QoS 1, not yet acknowledged) are the broker's pace, not
                # growth: measured with paho's queue drained, so a loaded machine reads the same.
                publisher.flush(5)
                gc.collect()
                checkpoints.append(round((tracemalloc.get_traced_memory()[0] - base_mem) / 1024))
        mem, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        root.handlers[:] = kept
        rig.close()
    return {
        "cycles": cycles,
        "fake_days": round(rig.clock.monotonic() / 86400, 1),
        "seconds": round(time.monotonic() - started, 1),
        "memory_growth_kib": round((mem - base_mem) / 1024),
        "peak_kib": round((peak - base_mem) / 1024),
        "checkpoints_kib": checkpoints,
        "thread_growth": threading.active_count() - base_threads,
        "fd_growth": _fds() - base_fds,
        "max_paho_queue": rig.max_queue,
        "paho_queue": getattr(publisher, "queued", 0),
        "warning_lines": counter.lines - base_lines,
        "drift_s": round(rig.drift, 3),
        "interval_s": rig.config.poll.meters,
        "requests": rig.fake.requests,
        "cloud_logins": rig.fake.logins,
        "availability_changes": rig.changes,
    }


def memory_slope_kib(checkpoints: list[int]) -> float:
    """Growth per checkpoint over the second half (the first may still fill caches)."""
    half = checkpoints[len(checkpoints) // 2 :]
    return (half[-1] - half[0]) / max(1, len(half) - 1) if len(half) > 1 else 0.0
