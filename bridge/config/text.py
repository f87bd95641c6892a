"""The user's files as text: the configuration and secret files, read as bounded UTF-8, and YAML
composed with a bound on what aliases expand to and how deep documents nest.

A file that is not UTF-8, far too big, nested past any real configuration (a RecursionError
before), or a YAML "billion laughs" (321 bytes of aliases of aliases cost `check-config` 6.5 s
and 640 MB before, each level more 9 times that) is one clear problem naming the file, never
a traceback or a stall.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

CONFIG_MAX_BYTES = 1024 * 1024  # a real configuration is a few KiB
SECRET_MAX_BYTES = 64 * 1024  # a password or a JWT (~1 KiB)
# A configuration with 50 gateways has about 1,500 values; aliases may reuse a block, but what
# they expand to stays within this many values, counted as the document is composed.
MAX_VALUES = 20_000
MAX_DEPTH = 32  # the deepest real configuration nests 4 levels (gateways, a gateway, tls, a key)


class Unreadable(Exception):
    """The file cannot be used; str() is "<file>: <why>" (never its contents: it may be a secret)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


def read_text(path: Path, limit: int) -> str:
    """The file as UTF-8 text; Unreadable when it cannot be read, is too big, or is not UTF-8."""
    try:
        with open(path, "rb") as file:  # follows links: Docker and Kubernetes secrets are links
            data = file.read(limit + 1)
    except OSError as err:
        raise Unreadable(path, f"cannot read ({err.strerror or type(err).__name__})") from None
    if len(data) > limit:
        raise Unreadable(path, f"larger than {limit // 1024} KiB; not a configuration or secret file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Unreadable(path, f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})") from None


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` (no !!python tags), refusing alias expansion and nesting beyond the bounds."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """Counts every value as the document is composed, an alias as the size of what it names.

    The composer shares an aliased node instead of copying it, so the document is small in
    memory; the cost comes later, from whatever walks or prints it. Counting here refuses the
    bomb before anything else sees it, in time proportional to the file.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._values = 0
        self._depth = 0
        self._sizes: dict[str, int] = {}  # anchor -> values the anchored node expands to

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self._next_event()
        if isinstance(event, yaml.AliasEvent):
            self._count(self._sizes.get(str(event.anchor), 1), event)
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _refusal(f"nested deeper than {MAX_DEPTH} levels", event)
        before = self._values
        self._count(1, event)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if anchor is not None:
            self._sizes[str(anchor)] = self._values - before
        return node

    def _next_event(self) -> yaml.Event:
        self.check_event()  # parses the next event, if not already, without consuming it
        event: yaml.Event = self.current_event
        return event

    def _count(self, values: int, event: yaml.Event) -> None:
        self._values += values
        if self._values > MAX_VALUES:
            raise _refusal(f"more than {MAX_VALUES} values, counting what each alias repeats", event)


def _refusal(problem: str, event: yaml.Event) -> ComposerError:
    mark = event.start_mark if isinstance(event.start_mark, yaml.Mark) else None
    return ComposerError(None, None, problem, mark)
