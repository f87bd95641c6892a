"""Where the simulated gateway's answers come from.

A source answers `(path, query) -> (status, content_type, body)`, and a `Writable` one a POST
too; authentication, faults and TLS live elsewhere. `CaptureSource` (here) serves a capture folder as it is;
`living.LivingSource` computes every answer from the physics of a scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, runtime_checkable

from bridge.capture.layout import file_names, is_endpoint_file, log_name
from bridge.simulator.scenario import SCENARIOS_DIR

DEFAULT_CAPTURE = SCENARIOS_DIR / "metered"  # served when no capture folder is given
NOT_FOUND = (404, "application/json", b'{"error": "not found"}\n')


class Source(Protocol):
    def answer(self, path: str, query: str) -> tuple[int, str, bytes]:
        """Answer one GET; `query` is the raw query string ("details=1") or ""."""


@runtime_checkable
class Writable(Protocol):
    """A source that takes writes (the living gateway's controls and live-stream switch);
    others answer 405."""

    def write(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one POST, PUT or DELETE with its raw body."""

    def installer_only(self, path: str) -> bool:
        """Whether this path (read or write) wants an installer's credentials."""


class CaptureSource:
    """Serves a capture folder (one file per endpoint plus optional `X_log.json`), read-only."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"capture folder not found: {self.folder}")

    def answer(self, path: str, query: str) -> tuple[int, str, bytes]:
        for name in file_names(path, query):
            if is_endpoint_file(name) and (self.folder / name).is_file():
                return self._serve(name)
        return NOT_FOUND

    def _serve(self, name: str) -> tuple[int, str, bytes]:
        body = (self.folder / name).read_bytes()
        status, content_type = self._log(name)
        default = "text/xml" if name == "info" else "application/json"
        return status, content_type or default, body

    def _log(self, name: str) -> tuple[int, str | None]:
        """Status and Content-Type recorded beside the capture (header names vary in case)."""
        log_file = self.folder / log_name(name)
        if not log_file.is_file():
            return 200, None
        try:
            log = json.loads(log_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 200, None
        headers = {str(k).lower(): v for k, v in (log.get("headers") or {}).items()}
        return int(log.get("code") or 200), headers.get("content-type")
