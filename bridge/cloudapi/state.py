"""`cloud-api-budget.json`: the small state the cloud source keeps across restarts (the request
budget's counts, the system id found for the gateway's serial), 0600, written atomically
through `bridge.files`. Read tolerantly: an unreadable file is one WARNING and a fresh start
(the budget then assumes the month used at its pace, so nothing bursts)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bridge import files

log = logging.getLogger("bridge.cloudapi")

STATE_FILE = "cloud-api-budget.json"
MAX_STATE_BYTES = 64 * 1024


class StateFile:
    """One JSON mapping of sections ("budget", "system"); each section saved on its own."""

    def __init__(self, path: Path, *, own_dir: bool = True):
        self.path = path
        self.own_dir = own_dir
        self._doc: dict[str, Any] | None = None
        self._said = False  # one WARNING for a file that cannot be written, not one per call

    def section(self, name: str) -> Section:
        return Section(self, name)

    def read(self, name: str) -> dict[str, Any] | None:
        value = self._load().get(name)
        return value if isinstance(value, dict) else None

    def write(self, name: str, value: dict[str, Any]) -> None:
        doc = self._load()
        doc[name] = value
        try:
            files.write_private(self.path, json.dumps(doc, sort_keys=True).encode(), own_dir=self.own_dir)
        except OSError as err:
            if not self._said:
                self._said = True
                why = err.strerror or type(err).__name__
                log.warning("cannot write %s (%s); the cloud API budget is kept in memory only", self.path, why)

    def _load(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = self._read_file()
        return self._doc

    def _read_file(self) -> dict[str, Any]:
        try:
            data = files.read_regular(self.path, MAX_STATE_BYTES)
            if len(data) > MAX_STATE_BYTES:
                raise ValueError("too big")
            doc: Any = json.loads(data)
            if not isinstance(doc, dict):
                raise ValueError("not a mapping")  # noqa: TRY004 - every kind of "not ours" is a ValueError
        except FileNotFoundError:
            return {}
        except OSError as err:
            log.warning("%s is unreadable (%s); starting afresh", self.path, err.strerror or type(err).__name__)
            return {}
        except ValueError:
            log.warning("%s is not the cloud API's state; starting afresh", self.path)
            return {}
        return doc


class Section:
    """One section of the state file: the `BudgetStore` the budget is given."""

    def __init__(self, file: StateFile, name: str):
        self._file = file
        self._name = name

    def load(self) -> dict[str, Any] | None:
        return self._file.read(self._name)

    def save(self, state: dict[str, Any]) -> None:
        self._file.write(self._name, state)
