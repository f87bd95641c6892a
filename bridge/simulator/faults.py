"""Fault injection and request counting for the simulated gateway; thread-safe."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass
class Fault:
    """What to do to the next `remaining` requests whose path matches `path` (glob; None = any)."""

    remaining: int
    path: str | None = None
    status: int | None = None  # answer this status instead of the real answer
    delay_s: float = 0.0  # wait this long first
    drop: bool = False  # then close the connection without any answer (a hung gateway)

    def matches(self, path: str) -> bool:
        return self.path is None or fnmatchcase(path, self.path)


class Faults:
    """Queued faults plus counters of requests, credentials and cloud calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._paths: Counter[str] = Counter()
        self._auth: Counter[str] = Counter()
        self._cloud: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        """The first queued fault for this path, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def count_request(self, path: str, auth_kinds: list[str], method: str = "GET") -> None:
        with self._lock:
            self._paths[path] += 1
            self._auth.update(auth_kinds or ["none"])
            if method not in ("GET", "HEAD"):  # every write that reached the gateway, answered or not
                self._writes[path] += 1

    def count_cloud(self, event: str) -> None:
        with self._lock:
            self._cloud[event] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        """Snapshot: {"paths": {...}, "auth": {...}, "cloud": {...}, "writes": {...}}."""
        with self._lock:
            return {
                "paths": dict(self._paths),
                "auth": dict(self._auth),
                "cloud": dict(self._cloud),
                "writes": dict(self._writes),
            }

    def reset_counts(self) -> None:
        with self._lock:
            self._paths.clear()
            self._auth.clear()
            self._cloud.clear()
            self._writes.clear()
