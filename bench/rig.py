"""The gateway side of the bench, in its own process: simulators, counters, a subscriber.

Each simulator's source is tapped (its `answer` wrapped, nothing in bridge/simulator edited):
requests and body bytes per path, and the monotonic time of every answer, which is when the
gateway "answers". A paho subscriber here timestamps messages on arrival; CLOCK_MONOTONIC is
system-wide on Linux, so both stamps compare with each other and with the bridge's process.

Grid outages: `sim.trigger("grid_outage")` on a living scenario; on a capture, the tap
rewrites the Enpower's `mains_oper_state` in /ivp/ensemble/inventory and /ivp/ensemble/relay.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque

import paho.mqtt.client as mqtt

from bench.common import SimSpec
from bench.tap import (
    Tap,
    lighten_listeners,
    start_light,
)

MESSAGES_KEPT = 200000
TIME_FACTOR = 60.0  # the living physics runs a minute per real second: values move between polls


class Rig:
    def __init__(self):
        self.light = lighten_listeners()
        self.sims: list = []
        self.taps: list[Tap] = []
        self.specs: list[SimSpec] = []
        self._client: mqtt.Client | None = None
        self._messages: deque = deque(maxlen=MESSAGES_KEPT)
        self._msg_lock = threading.Lock()
        self._subscribed = threading.Event()

    # --- simulators ---------------------------------------------------------------------------

    def add(
        self, kind: str, name: str, jitter: bool, count: int, serial_prefix: str, light: bool = False
    ) -> list[dict]:
        from bridge.simulator import Simulator

        spec = SimSpec(kind, name, jitter)
        added = []
        for _ in range(count):
            index = len(self.sims)
            serial = f"{serial_prefix}{index:0{12 - len(serial_prefix)}d}"
            if kind == "scenario":
                sim = Simulator(scenario=name, serial=serial, time_factor=TIME_FACTOR, start="12:00", nightly=False)
            else:
                sim = Simulator(name, serial=serial)
            tap = Tap(sim.source, jitter and kind == "capture")
            if light:
                start_light(sim)
            else:
                sim.start()
            self.sims.append(sim)
            self.taps.append(tap)
            self.specs.append(spec)
            added.append(self.describe(index))
        return added

    def describe(self, index: int) -> dict:
        sim = self.sims[index]
        host, port = sim.envoy_host.rsplit(":", 1)
        return {
            "index": index,
            "host": host,
            "port": int(port),
            "serial": sim.serial,
            "fingerprint": sim.fingerprint,
            "token": sim.issue_token(),
            "cloud_url": sim.cloud_url,
            "ca_file": sim.ca_file,
            "cloud_user": sim.cloud_user,
            "cloud_password": sim.cloud_password,
        }

    def _select(self, indexes) -> list[int]:
        return list(range(len(self.sims))) if indexes is None else list(indexes)

    def reset(self, indexes=None) -> None:
        for i in self._select(indexes):
            self.taps[i].reset()
            self.sims[i].reset_counts()

    def counts(self, indexes=None) -> dict:
        """Requests and body bytes per path, plus every request the gateway saw (auth too)."""
        requests: dict[str, int] = {}
        body: dict[str, int] = {}
        total = 0
        for i in self._select(indexes):
            with self.taps[i]._lock:
                for path, (n, size) in self.taps[i].counts.items():
                    requests[path] = requests.get(path, 0) + n
                    body[path] = body.get(path, 0) + size
            total += sum(self.sims[i].request_counts.values())
        return {"requests": requests, "bytes": body, "all_requests": total}

    def stamps(self, indexes, paths, since: float = 0.0) -> dict:
        """{index: {path: [monotonic answer times >= since]}}."""
        out = {}
        for i in self._select(indexes):
            with self.taps[i]._lock:
                out[i] = {p: [t for t in self.taps[i].stamps.get(p, ()) if t >= since] for p in paths}
        return out

    def cpu(self) -> float:
        return time.process_time()

    # --- grid events ----------------------------------------------------------------------------

    def _flip(self, index: int, up: bool) -> None:
        sim = self.sims[index]
        if self.specs[index].kind == "scenario":
            sim.trigger("grid_restore" if up else "grid_outage")
        else:
            self.taps[index].grid_up = up

    def grid_event(self, indexes, up: bool, topics: dict, timeout: float) -> dict:
        """Flip the relay of every gateway in `indexes` at once; seconds until each topic
        (index -> topic) shows `on_grid`/`off_grid` at the subscriber, None if it never did."""
        want = b"on_grid" if up else b"off_grid"
        flipped = {}
        for i in indexes:
            flipped[i] = time.monotonic()
            self._flip(i, up)
        deadline = time.monotonic() + timeout
        result: dict[int, float | None] = dict.fromkeys(indexes)
        while time.monotonic() < deadline and any(v is None for v in result.values()):
            with self._msg_lock:
                seen = list(self._messages)
            for i in indexes:
                if result[i] is None:
                    result[i] = next(
                        (
                            t - flipped[i]
                            for t, topic, payload in seen
                            if topic == topics[i] and payload == want and t >= flipped[i]
                        ),
                        None,
                    )
            time.sleep(0.005)
        return result

    def wait_latest(self, topics: list[str], payload: bytes, timeout: float) -> bool:
        """Until the newest message of every topic is `payload` (retained ones count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._msg_lock:
                latest = {topic: body for _, topic, body in self._messages}
            if all(latest.get(t) == payload for t in topics):
                return True
            time.sleep(0.01)
        return False

    # --- subscriber -------------------------------------------------------------------------------

    def subscribe(self, host: str, port: int, topics: list[str], timeout: float = 10.0) -> None:
        self.unsubscribe()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-rig-{time.monotonic_ns()}")
        client.on_message = self._on_message
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self._subscribed.clear()
        client.connect(host, port)
        client.loop_start()
        self._client = client
        if not self._subscribed.wait(timeout):
            raise RuntimeError("the bench subscriber could not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        now = time.monotonic()
        with self._msg_lock:
            self._messages.append((now, message.topic, bytes(message.payload[:64])))

    def messages(self, since: float = 0.0, suffix: str = "") -> list[tuple[float, str, bytes]]:
        with self._msg_lock:
            return [m for m in self._messages if m[0] >= since and m[1].endswith(suffix)]

    def unsubscribe(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None
        with self._msg_lock:
            self._messages.clear()

    def wait_stamps(self, indexes, path: str, count: int, timeout: float) -> bool:
        """Until every gateway in `indexes` has answered `path` at least `count` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(self.taps[i].stamps.get(path, ())) >= count for i in self._select(indexes)):
                return True
            time.sleep(0.05)
        return False

    def latency_sample(self, index: int, path: str, suffix: str, timeout: float = 0.5) -> float | None:
        """Seconds from the latest answer of `path` to the first message on `*suffix` after it."""
        stamps = self.taps[index].stamps.get(path)
        if not stamps:
            return None
        answered = stamps[-1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self._first_message_after(answered, suffix)
            if found is not None:
                return found - answered
            time.sleep(0.0005)
        return None

    def startup_sample(self, index: int, since: float, suffix: str, timeout: float = 10.0) -> float | None:
        """Seconds from the first /info answer after `since` to the first `*suffix` message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.taps[index]._lock:
                first = next((t for t in self.taps[index].stamps.get("/info", ()) if t >= since), None)
            found = self._first_message_after(first, suffix) if first is not None else None
            if found is not None:
                return found - first
            time.sleep(0.002)
        return None

    def _first_message_after(self, since: float, suffix: str) -> float | None:
        first = None
        with self._msg_lock:
            for t, topic, _ in reversed(self._messages):  # newest first; stop at older ones
                if t < since:
                    break
                if topic.endswith(suffix):
                    first = t
        return first

    def close(self) -> None:
        self.unsubscribe()
        threads = [threading.Thread(target=_stop_quietly, args=(sim,), daemon=True) for sim in self.sims]
        for thread in threads:  # in parallel: each stop waits for its listener's poll
            thread.start()
        deadline = time.monotonic() + 15
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.sims.clear()


def _stop_quietly(sim) -> None:
    with contextlib.suppress(Exception):  # best effort at the end
        sim.stop()
