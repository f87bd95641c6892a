"""The HTTP rooms import what bridge/http/__init__.py allows; a run without `http:` loads none of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bridge.http
from tests.support.processes import REPO
from tests.unit.model.test_layers import disallowed, imports_of

HTTP = Path(bridge.http.__file__).parent
BRIDGE = HTTP.parent
ALLOWED = ("bridge.http", "bridge.config", "bridge.model", "bridge.redaction", "bridge.sinks", "bridge.__version__")


def test_the_rooms_import_only_what_the_package_allows():
    files = sorted(HTTP.glob("*.py"))
    allowed = {f.name: (*ALLOWED, "prometheus_client") if f.name == "metrics.py" else ALLOWED for f in files}
    assert {f.name: disallowed(f, allowed[f.name]) for f in files} == {f.name: set() for f in files}


def test_only_the_app_wires_the_http_package():
    users = {
        str(f.relative_to(BRIDGE))
        for f in BRIDGE.rglob("*.py")
        if f.parent != HTTP and any(m.startswith("bridge.http") for m in imports_of(f))
    }
    assert users == {"app.py"}


LOADED = """
import sys
from bridge.app import Bridge
from bridge.config import Config, GatewayConfig, HttpConfig
listen = sys.argv[1]
bridge = Bridge(Config(gateways=(GatewayConfig(host="127.0.0.1", insecure=True),), http=HttpConfig(listen)))
print(sorted(m for m in sys.modules if m.startswith(("prometheus_client", "bridge.http", "http.server"))))
"""


def loaded_by_a_bridge(listen: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, listen], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    return done.stdout.strip()


def test_a_bridge_without_http_never_imports_the_server_nor_prometheus_client():
    assert loaded_by_a_bridge("") == "[]"
    assert loaded_by_a_bridge("127.0.0.1:8080") == "['bridge.http', 'bridge.http.history']"  # the server at start
