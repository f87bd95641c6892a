"""The controls' rooms import what bridge/controls/__init__.py allows: the table, the commands,
the writes and the revert watch are pure (no gateway client, no MQTT), so Home Assistant
discovery (and the capture, for a read path) may import the table (and nothing else of it); only
the app wires the package."""

from __future__ import annotations

from pathlib import Path

import bridge.controls
from tests.unit.model.test_layers import disallowed, imports_of

CONTROLS = Path(bridge.controls.__file__).parent
BRIDGE = CONTROLS.parent
PURE = ("bridge.model", "bridge.config", "bridge.errors", "bridge.identifiers", "bridge.controls.table")


def test_the_pure_rooms_import_no_client_and_no_mqtt():
    files = [CONTROLS / f"{name}.py" for name in ("table", "commands", "writes", "revert")]
    assert {f.name: disallowed(f, PURE) for f in files} == {f.name: set() for f in files}


def test_the_package_file_imports_nothing():
    assert imports_of(CONTROLS / "__init__.py") == set()


def test_only_the_app_wires_the_controls_and_discovery_reads_only_the_table():
    users = {
        str(f.relative_to(BRIDGE)): {m for m in imports_of(f) if m.startswith("bridge.controls")}
        for f in BRIDGE.rglob("*.py")
        if f.parent != CONTROLS
    }
    table = {name for name, used in users.items() if used and all(_of_the_table(m) for m in used)}
    assert {name for name, used in users.items() if used} - table == {"app.py"}
    # discovery, and the capture that reads the production switch's path (capture/endpoints.py)
    assert table and all(name.startswith(("homeassistant/", "capture/endpoints.py")) for name in table)


def _of_the_table(module: str) -> bool:
    return module == "bridge.controls.table" or module.startswith("bridge.controls.table.")
