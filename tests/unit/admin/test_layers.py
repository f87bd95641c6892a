"""The admin rooms import what bridge/admin/__init__.py allows, and only the app wires them."""

from __future__ import annotations

from pathlib import Path

import bridge.admin
from tests.unit.model.test_layers import disallowed, imports_of

ADMIN = Path(bridge.admin.__file__).parent
BRIDGE = ADMIN.parent
ALLOWED = (
    "bridge.admin",
    "bridge.config",
    "bridge.errors",
    "bridge.identifiers",
    "bridge.model",
    "bridge.redaction",
    "bridge.capture.redact",  # the one masking rule for a gateway's answer shown to a person
    "bridge.sinks",
    "bridge.gateway.worker",
    "bridge.gateway.client",
    "bridge.gateway.stats",
    "bridge.health",
    "bridge.mqtt.publisher",
    "bridge.mqtt.guard",
    "bridge.__version__",
    "paho.mqtt.client",  # the message a handler takes
)


def test_the_rooms_import_only_what_the_package_allows():
    files = sorted(ADMIN.glob("*.py"))
    assert {f.name: disallowed(f, ALLOWED) for f in files} == {f.name: set() for f in files}


def test_only_the_app_wires_the_admin_package():
    users = {
        str(f.relative_to(BRIDGE))
        for f in BRIDGE.rglob("*.py")
        if f.parent != ADMIN and any(m.startswith("bridge.admin") for m in imports_of(f))
    }
    assert users == {"app.py"}
