"""docs/reliability.md names a test (or a note) for every scenario of the catalogue, and every
test it names exists: nothing in the catalogue is left untested without saying why."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"
CATALOGUE = {"F": 10, "E": 10, "A": 14, "N": 5, "B": 10, "H": 5, "L": 5, "S": 6}
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> dict[str, str]:
    """The catalogue's rows (the measured tables further down use the same ids)."""
    found = {}
    catalogue = DOC.read_text().split("## Catalogue", 1)[1].split("\n## ", 1)[0]
    for line in catalogue.splitlines():
        match = re.match(r"\|\s*([A-Z]\d+)\s*\|", line)
        if match:
            found[match.group(1)] = line
    return found


def test_every_scenario_has_a_row_with_a_test():
    table = rows()
    expected = {f"{group}{n}" for group, count in CATALOGUE.items() for n in range(1, count + 1)}
    assert expected - set(table) == set(), "scenarios without a row"
    for scenario in expected:
        assert REFERENCE.search(table[scenario]) or "not tested" in table[scenario], scenario


def test_every_named_test_exists():
    defined: dict[str, set[str]] = {}
    for scenario, line in rows().items():
        for path, name in REFERENCE.findall(line):
            if path not in defined:
                tree = ast.parse((REPO / path).read_text())
                defined[path] = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert name in defined[path], f"{scenario}: {path}::{name} does not exist"
