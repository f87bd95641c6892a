"""Golden files: everything the bridge publishes for each real capture, kept as the project's own
expected output in tests/golden/<capture>/ and reviewed by hand (tests/golden/REVIEW.md).

The output is produced by the worker's cycle itself (EnvoyWorker.deliver() and the app's sinks),
with a recording publisher and a fixed clock, from the endpoints the poller would select. A change shows up as a unified diff.
After an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/unit/model/test_golden.py`, then read
the diff of tests/golden before committing it.

mqtt.txt: one line per published value, `<topic> <key path> = <JSON value>` (plain-text topics:
`<topic> = <text>`), sorted. Diagnostics are left out: they carry the bridge version and timings.
discovery.txt: each device block once, then one line per entity config with its device given
by identifier; availability and origin are the same for every config and listed once.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig, MqttConfig, PollIntervals
from bridge.gateway.worker import EnvoyWorker
from tests.support.captures import POLLED_AT, SKIP_REASON, capture_names, load_capture
from tests.support.sinks import Recorder

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NAMES = capture_names() or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]
DIFF_LINES = 80  # enough to read what changed, short enough for a terminal


def publish(name: str) -> Recorder:
    capture = load_capture(name)
    config = Config(
        gateways=(GatewayConfig(host="envoy.local", insecure=True),),
        mqtt=MqttConfig(instance_id="site-a"),  # not this machine's host name
        poll=PollIntervals(),
    )
    recorder = Recorder()
    gateway = config.gateways[0]
    client = SimpleNamespace(token_info=None, last_renewal_error=None, retry_budget_s=None)
    worker = EnvoyWorker(
        gateway,
        config,
        sinks_for(config, gateway, recorder),
        client=client,
        monotonic=lambda: 0.0,
        wall=lambda: POLLED_AT,
    )
    worker.info, worker.parsed = capture.info, capture.parsed()
    worker.deliver(started=0.0)
    return recorder


def mqtt_text(name: str, recorder: Recorder) -> str:
    lines = []
    for topic, payload in recorder.messages.items():
        if topic.endswith("/diagnostics"):
            continue
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        if isinstance(document, dict):
            lines += [f"{topic} {path} = {value}" for path, value in _leaves(document)]
        else:
            lines.append(f"{topic} = {payload}")
    header = f"# {name}: every value one cycle of the worker sends (see tests/unit/model/test_golden.py)"
    body = sorted(lines) or ["(nothing published: the gateway gave no usable data)"]
    return "\n".join([header, *body]) + "\n"


def discovery_text(name: str, recorder: Recorder) -> str:
    configs = {topic: json.loads(payload) for topic, payload in recorder.discovery.items()}
    if not configs:
        return f"# {name}: no discovery\n"
    shared = {key: next(iter(configs.values()))[key] for key in ("availability", "availability_mode")}
    devices, entities = {}, []
    for topic, config in sorted(configs.items()):
        assert {k: config[k] for k in shared} == shared, f"{topic}: availability differs from the others"
        assert config.pop("origin")["name"] == "envoy-mqtt-bridge"
        identifier = config["device"]["identifiers"][0]
        devices[identifier] = config.pop("device")
        entities.append(
            f"{topic} {_compact({k: v for k, v in config.items() if k not in shared} | {'device': identifier})}"
        )
    lines = [
        f"# {name}: Home Assistant discovery, {len(entities)} entities on {len(devices)} devices",
        f"# every config: {_compact(shared)} and origin envoy-mqtt-bridge",
        *(f"device {ident} {_compact(block)}" for ident, block in sorted(devices.items())),
        *entities,
    ]
    return "\n".join(lines) + "\n"


def _leaves(node: dict, prefix: str = ""):
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _leaves(value, path)
        else:
            yield path, _compact(value)


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _without_header(text: str) -> str:
    """The compared part of a golden file: its first line is a label for the reader (it names
    this file, which has moved since some golden files were written), not an output."""
    first, _, rest = text.partition("\n")
    return rest if first.startswith("# ") and "sends (see " in first else text


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"{path} is missing: generate it with UPDATE_GOLDEN=1, then review it by hand")
    expected = path.read_text(encoding="utf-8")
    if _without_header(actual) != _without_header(expected):
        diff = list(
            difflib.unified_diff(
                expected.splitlines(), actual.splitlines(), f"{path} (expected)", "published now", lineterm="", n=1
            )
        )
        shown = "\n".join(diff[:DIFF_LINES]) + (
            f"\n... {len(diff) - DIFF_LINES} more lines" if len(diff) > DIFF_LINES else ""
        )
        pytest.fail(
            f"output differs from {path.relative_to(GOLDEN.parent)}; if intended, rerun with "
            f"UPDATE_GOLDEN=1 and review the diff:\n{shown}",
            pytrace=False,
        )


@pytest.mark.parametrize("name", NAMES)
def test_published_topics_match_the_golden_file(name):
    check_golden(GOLDEN / name / "mqtt.txt", mqtt_text(name, publish(name)))


@pytest.mark.parametrize("name", NAMES)
def test_discovery_configs_match_the_golden_file(name):
    check_golden(GOLDEN / name / "discovery.txt", discovery_text(name, publish(name)))


def test_every_capture_has_golden_files_and_no_golden_file_is_orphaned():
    if not capture_names():
        pytest.skip(SKIP_REASON)
    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir()}
    assert folders == set(capture_names())
