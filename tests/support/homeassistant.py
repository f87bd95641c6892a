"""A real Home Assistant for integration tests: installed once per release
(scripts/install-homeassistant), given a fresh config directory with an MQTT config entry, an
API token and an empty automations.yaml, read back through its REST API, its registries under
`.storage/` and its log, told what to do through its services."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest
import requests

from tests.support.mqtt import free_port, wait_for
from tests.support.processes import start_logged, stop_process

if TYPE_CHECKING:
    from tests.support.mqtt import Subscriber

REPO = Path(__file__).resolve().parents[2]
USER_ID, TOKEN_ID = "0" * 31 + "1", "f" * 31 + "1"
# The oldest release the bridge supports (docs/home-assistant.md) and the newest that installs
# on Python 3.11.
VERSIONS = ("2024.1.6", "2024.3.3")
# What Home Assistant logs when it refuses a discovery config (or repairs one, or cannot show
# its value), from the mqtt and sensor sources of 2024.1 and 2024.3.
REJECTED = re.compile(
    "|".join(
        re.escape(text)
        for text in (
            "when processing MQTT discovery message",  # the schema said no: "Error '<why>' when ..."
            "extra keys not allowed",
            "Invalid config",
            "Unable to parse JSON",
            "Unable to parse origin information",
            "illegal discovery topic",
            "is invalid for sensors",
            "MQTT device name is equal to entity name",
            "MQTT entity name starts with the device name",
            "rendering template for entity",
            "Error parsing value",
            "Invalid state message",
            "Exception raised when updating state",
            "is impossible considering device class",
            "is not a valid unit for the device class",
        )
    )
    + r"|Integration \S+ is not supported"
)


def install(version: str) -> Path:
    """The cached venv of one Home Assistant release; skip the test with the reason if it cannot be had."""
    proc = subprocess.run(
        [str(REPO / "scripts/install-homeassistant")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HA_VERSION": version},
    )
    if proc.returncode != 0:
        pytest.skip(f"Home Assistant could not be installed: {proc.stderr.strip()[-300:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


class HomeAssistant:
    def __init__(self, venv: Path, config_dir: Path, broker_port: int):
        self.venv, self.dir, self.port = venv, config_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        (config_dir / ".storage").mkdir(parents=True, exist_ok=True)
        self._write_configuration()
        self._write_mqtt_entry(broker_port)
        self.token = self._write_auth()

    def _write_configuration(self) -> None:
        (self.dir / "configuration.yaml").write_text(f"""
homeassistant:
  name: Test
  latitude: 52.0
  longitude: 5.0
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: NL
http:
  server_host: 127.0.0.1
  server_port: {self.port}
api:
automation: !include automations.yaml
recorder:
  commit_interval: 1
logger:
  default: warning
""")
        (self.dir / "automations.yaml").write_text("[]\n")

    def _store(self, key: str, data: dict) -> None:
        document = {"version": 1, "minor_version": 1, "key": key, "data": data}
        (self.dir / ".storage" / key).write_text(json.dumps(document))

    def _write_mqtt_entry(self, broker_port: int) -> None:
        entry = {
            "entry_id": "mqtt" + "0" * 28,
            "version": 1,
            "minor_version": 1,
            "domain": "mqtt",
            "title": "test broker",
            "data": {"broker": "127.0.0.1", "port": broker_port, "discovery": True},
            "options": {},
            "pref_disable_new_entities": False,
            "pref_disable_polling": False,
            "source": "user",
            "unique_id": None,
            "disabled_by": None,
        }
        self._store("core.config_entries", {"entries": [entry]})

    def _write_auth(self) -> str:
        """An owner with a long-lived access token, as Home Assistant stores them."""
        jwt_key = secrets.token_hex(32)
        user = {
            "id": USER_ID,
            "group_ids": ["system-admin"],
            "is_owner": True,
            "is_active": True,
            "name": "test",
            "system_generated": False,
            "local_only": False,
        }
        refresh = {
            "id": TOKEN_ID,
            "user_id": USER_ID,
            "client_id": None,
            "client_name": "test",
            "client_icon": None,
            "token_type": "long_lived_access_token",
            "created_at": "2024-01-01T00:00:00+00:00",
            "access_token_expiration": 3.0e8,
            "token": secrets.token_hex(32),
            "jwt_key": jwt_key,
            "last_used_at": None,
            "last_used_ip": None,
            "expire_at": None,
            "credential_id": None,
            "version": "2024.3.3",
        }
        groups = [
            {"id": "system-admin", "name": "Administrators"},
            {"id": "system-users", "name": "Users"},
            {"id": "system-read-only", "name": "Read Only"},
        ]
        self._store("auth", {"users": [user], "groups": groups, "credentials": [], "refresh_tokens": [refresh]})
        now = int(time.time())
        return jwt.encode({"iss": TOKEN_ID, "iat": now, "exp": now + 86400}, jwt_key, "HS256")

    def start(self, timeout: float = 180) -> HomeAssistant:
        command = [str(self.venv / "bin/hass"), "-c", str(self.dir), "--skip-pip"]
        self.proc = start_logged(command, self.dir / "hass.stdout")
        wait_for(self._api_up, timeout, interval=0.5, message="Home Assistant's API")
        return self

    def _api_up(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise AssertionError(f"Home Assistant exited: {self.log_tail()}")
        try:
            return self.get("/api/").status_code == 200
        except requests.ConnectionError:
            return False

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def states(self) -> dict[str, dict]:
        return {s["entity_id"]: s for s in self.get("/api/states").json()}

    def registry(self, name: str) -> dict:
        path = self.dir / ".storage" / name
        return json.loads(path.read_text())["data"] if path.exists() else {}

    def mqtt_entities(self) -> dict[str, dict]:
        """unique_id -> entity registry entry of every MQTT entity."""
        entities = self.registry("core.entity_registry").get("entities", [])
        return {e["unique_id"]: e for e in entities if e["platform"] == "mqtt"}

    def call_service(self, domain: str, service: str, data: dict[str, Any] | None = None) -> None:
        reply = requests.post(
            f"{self.url}/api/services/{domain}/{service}",
            json=data or {},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text

    def set_automations(self, text: str) -> None:
        """automations.yaml as a user writes it, then Reload automations."""
        (self.dir / "automations.yaml").write_text(text)
        self.call_service("automation", "reload")

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "home-assistant.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def rejected(self) -> list[str]:
        """The lines of its log and its output that say a discovery config was refused."""
        logs = (self.dir / "home-assistant.log", self.dir / "hass.stdout")
        lines = (line for path in logs if path.exists() for line in path.read_text(errors="replace").splitlines())
        return list(dict.fromkeys(line[:600] for line in lines if REJECTED.search(line)))  # both hold most lines

    def assert_none_rejected(self) -> None:
        rejected = self.rejected()
        assert not rejected, "Home Assistant refused discovery configs:\n" + "\n".join(rejected[:10])

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, 30)


def announced(sub: Subscriber) -> dict[str, dict]:
    """unique_id -> config of every entity the bridge announces (as the broker holds them now)."""
    with sub._lock:
        items = list(sub.messages.items())
    return {
        c["unique_id"]: c
        for c in (json.loads(p) for t, p in items if t.startswith("homeassistant/") and t.endswith("/config") and p)
    }
