"""Group S of docs/reliability.md: secrets never leave, in any log line, MQTT payload or repr,
even at DEBUG through faults that exercise every path that touches one; the image runs as an
unprivileged user with nothing secret baked in.

The token cache (S5: mode 0600, directory 0700, atomic replace) is tested in test_auth.py and,
through the whole chain, in test_reliability_tokens.py (A3).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from pathlib import Path

import pytest
import yaml

from bridge.app import Bridge
from bridge.auth.tokens import decode_token
from bridge.config import PollIntervals, describe
from bridge.redaction import setup_logging
from bridge.simulator import Simulator
from tests.reliability.rig import bridge_config, cloud_config, gateway_config
from tests.support.mqtt import Mosquitto, Subscriber, wait_for

REPO = Path(__file__).resolve().parents[2]
MQTT_PASSWORD = "mqtt-secret-Passw0rd"
FAST = PollIntervals(meters=1, grid=1, energy=2, inverters=5, batteries=5, info=3)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


class Collect(logging.Handler):
    """Every record's raw message too: the code must not log secrets even before redaction."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.raw: list[str] = []

    def emit(self, record):
        self.raw.append(record.getMessage() + (self.format(record) if record.exc_info else ""))


class Secrets:
    """Every secret the run handled, gathered while it ran (tokens and sessions change)."""

    def __init__(self, sim: Simulator):
        self.sim, self.values = sim, {sim.cloud_password, MQTT_PASSWORD}

    def gather(self, cache: Path) -> None:
        if cache.exists():
            self.values.add(cache.read_text().strip())
        self.values.update(getattr(self.sim.tokens, "_sessions", {}))  # gateway sessionId cookies
        self.values.update(getattr(self.sim.cloud, "_sessions", {}))  # Enlighten session ids


@pytest.mark.integration
def test_s4_no_secret_anywhere_at_debug_through_faults(tmp_path):
    broker = Mosquitto(tmp_path, users={"bridge": MQTT_PASSWORD}).start()
    stream, raw = io.StringIO(), Collect()
    with Simulator() as sim:
        gateway = gateway_config(sim, tmp_path)
        config = bridge_config(
            [gateway],
            tmp_path,
            cloud=cloud_config(sim),
            broker=broker,
            poll=FAST,
            username="bridge",
            password=MQTT_PASSWORD,
        )
        setup_logging("DEBUG", config.secrets(), stream=stream)
        logging.getLogger().addHandler(raw)
        secrets = Secrets(sim)
        sub = Subscriber(broker.host, broker.port, username="bridge", password=MQTT_PASSWORD)
        bridge = Bridge(config, worker_kw={"rng": lambda low, high: low}).start()  # shortest backoff
        ticker = threading.Thread(target=bridge.run_forever, daemon=True)
        ticker.start()
        state = f"envoy/{sim.serial}/state"
        polls = lambda: sim.request_counts.get("/ivp/meters/readings", 0)  # noqa: E731
        try:
            sub.wait_topic(state, timeout=30)
            secrets.gather(gateway.token_cache)
            for fault in (
                lambda: sim.fail_next(401, path="/ivp/meters/readings"),  # a new session
                sim.revoke_sessions,  # the same, found by the next request
                lambda: (sim.revoke_token(), sim.revoke_sessions()),  # a cloud renewal
                lambda: sim.fail_next(503, count=2),
            ):  # retries, logged at DEBUG
                before = polls()
                fault()
                wait_for(lambda before=before: polls() >= before + 2, 30, message="polling through the fault")
                secrets.gather(gateway.token_cache)
            assert sim.cloud_counts["tokens_issued"] == 2  # the renewal really happened
            sim.stop_envoy()
            wait_for(lambda: sub.get(f"envoy/{sim.serial}/availability") == b"offline", 30, message="offline")
            sim.start_envoy()
            wait_for(lambda: sub.get(f"envoy/{sim.serial}/availability") == b"online", 30, message="online")
            secrets.gather(gateway.token_cache)
        finally:
            bridge.stop(flush_s=2)
            ticker.join(5)
            sub.close()
            logging.getLogger().removeHandler(raw)
            broker.stop()
    texts = {
        "log": stream.getvalue(),
        "raw log records": "\n".join(raw.raw),
        "MQTT payloads": "\n".join(p.decode("utf-8", "replace") for _, p in sub.history),
        "repr": "\n".join(
            repr(x) for x in (config, gateway, config.mqtt, config.cloud, decode_token(gateway.token_cache.read_text()))
        ),
        "check-config": yaml.safe_dump(describe(config)),
    }
    assert "DEBUG" in texts["log"] and "Retrying" in texts["log"]  # DEBUG really was on
    assert len(secrets.values) >= 6  # two passwords, two tokens, sessions
    for where, text in texts.items():
        assert not JWT.search(text), f"a JWT in the {where}"
        for secret in secrets.values:
            assert secret not in text, f"a secret ({secret[:6]}...) in the {where}"
    assert "sessionId=" not in texts["log"] or "sessionId=********" in texts["log"]


def test_s6_dockerfile_runs_as_an_unprivileged_user_and_bakes_in_no_secret():
    """The Dockerfile as text; tests/image builds and runs it (see docs/reliability.md)."""
    lines = [
        line.strip()
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")  # the last USER is the one that runs
    uid = re.search(r"useradd[^\n]*--uid (\d+)", "\n".join(lines))
    assert uid and int(uid.group(1)) >= 1000
    copied = " ".join(line for line in lines if line.startswith(("COPY", "ADD")))
    assert not re.search(r"config\.yaml(\s|$)|\.jwt|\.token|passwd|secret", copied)
    for line in lines:
        if line.startswith(("ENV", "ARG")):
            assert not re.search(r"(?i)password|token|secret", line), line
    entry = next(line for line in reversed(lines) if line.startswith("CMD"))
    assert "/data/config.yaml" in entry  # configuration (and its secrets) come from the volume


def test_s6_config_example_holds_placeholders_only():
    text = (REPO / "config.yaml.example").read_text()
    assert not JWT.search(text)
    config = yaml.safe_load(text)
    for gateway in config["gateways"]:
        assert gateway.get("password") in (None, "change-me")
        assert "token" not in gateway
    assert (config.get("mqtt") or {}).get("password") in (None, "change-me")
