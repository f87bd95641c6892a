"""The model's rooms import only what their docstrings allow: parse/ knows no builder, builders/
knows no endpoint path, and nothing in the model knows HTTP, MQTT or the configuration (the
rule for identifiers in topics, bridge/identifiers.py, imports nothing and is shared)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import bridge.model

MODEL = Path(bridge.model.__file__).parent
# What each room may import besides the standard library.
ALLOWED = {
    "parse": ("bridge.errors", "bridge.identifiers", "bridge.model.parse"),
    "builders": (
        "bridge.errors",
        "bridge.identifiers",
        "bridge.model.parse",
        "bridge.model.builders",
        "bridge.model.kinds",
    ),
    "kinds": (),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def foreign(module: str) -> bool:
    """Not the standard library (`_typeshed` only exists for the type checker)."""
    top = module.split(".")[0]
    return top not in sys.stdlib_module_names and top not in ("__future__", "_typeshed")


def disallowed(path: Path, allowed: tuple[str, ...]) -> set[str]:
    return {m for m in imports_of(path) if foreign(m) and not any(m.startswith(f"{a}.") or m == a for a in allowed)}


def test_parse_imports_only_the_errors_and_itself():
    files = sorted((MODEL / "parse").glob("*.py"))
    assert files and {f.name: disallowed(f, ALLOWED["parse"]) for f in files} == {f.name: set() for f in files}


def test_builders_import_only_parse_the_kinds_the_errors_and_themselves():
    files = sorted((MODEL / "builders").glob("*.py"))
    assert files and {f.name: disallowed(f, ALLOWED["builders"]) for f in files} == {f.name: set() for f in files}


def test_the_table_of_kinds_imports_nothing():
    assert disallowed(MODEL / "kinds.py", ALLOWED["kinds"]) == set()


def test_nothing_in_the_model_imports_http_mqtt_or_the_configuration():
    everything = {m for f in MODEL.rglob("*.py") for m in imports_of(f) if foreign(m)}
    shared = ("bridge.model", "bridge.errors", "bridge.identifiers")
    assert everything and {m for m in everything if not m.startswith(shared)} == set()
