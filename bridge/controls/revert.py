"""The revert watch: a value the bridge set and read back, changed back later.

The Enphase cloud puts a locally set storage mode back within a minute or two (reference
§1.1.5), and a gateway may undo a setting of its own; a user who saw "ok" must hear of it.
For `window_s` after a confirmed write, every reading of the control is compared with the
value confirmed; the first different one is reported once, and the watch ends. A reading
without the value (the endpoint failed) is no news. Used on one gateway's worker thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bridge.controls.table import Value


@dataclass(frozen=True)
class Watched:
    value: Value  # as confirmed after the write
    command_id: str | int | None
    since: float  # monotonic seconds of the confirmation


@dataclass(frozen=True)
class Reverted:
    path: str
    command_id: str | int | None
    value: Value  # what the gateway says now
    confirmed: Value
    after_s: float  # seconds since the confirmation


class RevertWatch:
    def __init__(self, window_s: float, monotonic: Callable[[], float]) -> None:
        self._window_s, self._monotonic = window_s, monotonic
        self._watched: dict[str, Watched] = {}  # control path -> its confirmed write

    def watch(self, path: str, value: Value, command_id: str | int | None) -> None:
        """Start watching `path` (a later command's watch replaces an earlier one's)."""
        if self._window_s > 0:
            self._watched[path] = Watched(value, command_id, self._monotonic())

    def forget(self, path: str) -> None:
        """A new command for `path`: what it changes is no revert of the earlier one."""
        self._watched.pop(path, None)

    def watching(self, path: str) -> bool:
        watched = self._watched.get(path)
        if watched is not None and self._monotonic() - watched.since > self._window_s:
            del self._watched[path]
            return False
        return watched is not None

    def paths(self) -> list[str]:
        return [path for path in list(self._watched) if self.watching(path)]

    def check(self, path: str, current: Value | None) -> Reverted | None:
        """The revert, once, when `current` differs from the confirmed value within the window."""
        if not self.watching(path) or current is None:
            return None
        watched = self._watched[path]
        if current == watched.value:
            return None
        del self._watched[path]
        return Reverted(path, watched.command_id, current, watched.value, self._monotonic() - watched.since)
