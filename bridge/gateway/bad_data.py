"""Bad data from one gateway's endpoints: said once when an endpoint goes bad (however many
polls it stays so), once when it gives valid data again; every bad answer counted in the
diagnostics' `errors`."""

from __future__ import annotations

import logging
from typing import Any

from bridge.errors import EnvoyDataError

log = logging.getLogger(__name__)

DROPPED_SHOWN = 3  # bad fields named in the log line; the rest counted


class BadData:
    def __init__(self, diagnostics: dict[str, Any]) -> None:
        self._diagnostics = diagnostics  # the worker's running document: its `errors` count
        self._bad: set[str] = set()

    def bad(self, serial: str, endpoint: str, err: Exception, what: str = "") -> None:
        self._diagnostics["errors"] += 1
        if endpoint not in self._bad:
            self._bad.add(endpoint)
            log.warning("Gateway %s: %s: %s", serial, what or f"bad data from {endpoint}, skipping it", err)

    def read(self, serial: str, endpoint: str, reading: Any) -> None:
        """A reading whose parser left bad fields out (it names them in `dropped`) is said once,
        as a bad answer; the rest of it flows."""
        dropped: tuple[str, ...] = getattr(reading, "dropped", ())
        if not dropped:
            self.good(serial, endpoint)
            return
        more = f" (and {len(dropped) - DROPPED_SHOWN} more)" if len(dropped) > DROPPED_SHOWN else ""
        err = EnvoyDataError("; ".join(dropped[:DROPPED_SHOWN]) + more)
        self.bad(serial, endpoint, err, f"bad fields from {endpoint}, left out")

    def good(self, serial: str, endpoint: str) -> None:
        if endpoint in self._bad:
            self._bad.discard(endpoint)
            log.info("Gateway %s: %s gives valid data again", serial, endpoint)
