"""bridge.capture.writer: the real captures' layout, masked, 0600 in a 0700 folder, a summary,
served back as it was answered; the zip to attach to an issue."""

from __future__ import annotations

import json
import stat
import zipfile

import pytest

from bridge import __version__
from bridge.capture.reader import Answer
from bridge.capture.redact import Redactor
from bridge.capture.writer import write_capture, write_zip
from bridge.errors import BridgeError
from bridge.model import parse_info
from bridge.simulator.source import CaptureSource
from tests.unit.gateway.helpers import info_xml

SERIAL, INVERTER = "122233445566", "482120012345"


def answers() -> list[Answer]:
    return [
        Answer("/info", 200, info_xml(), "text/xml", 0.0312),
        Answer("/api/v1/production/inverters", 200, f'[{{"serialNumber": "{INVERTER}"}}]'.encode(), "application/json"),
        Answer("/ivp/ensemble/power", 404, b'{"error": "404 - Not Found"}'),
        Answer(f"/ivp/mod/{SERIAL}/mode/power", 401),
        Answer("/home", None, error=f"gateway {SERIAL} /home: timed out"),
    ]


def test_the_folder_has_the_real_captures_layout_masked_and_private(tmp_path):
    folder = tmp_path / "cap"
    written = write_capture(folder, parse_info(info_xml()), answers(), Redactor(secrets=["pw"]))
    assert (written.serial, written.answered, written.ok) == ("900000000001", 4, 2)
    assert written.masked == {"serials": 2}
    names = sorted(p.name for p in folder.iterdir())
    bodies = ["info", "api_v1_production_inverters", "ivp_ensemble_power", "ivp_mod_900000000001_mode_power"]
    assert names == sorted(["_capture.json", *bodies, *(f"{name}_log.json" for name in bodies)])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    for path in folder.iterdir():
        assert SERIAL not in path.read_text() and INVERTER not in path.read_text(), path.name
    log = json.loads((folder / "info_log.json").read_text())
    assert log == {"headers": {"content-type": "text/xml"}, "code": 200, "duration_seconds": 0.031}


def test_the_summary_says_what_each_endpoint_gave_without_the_real_serial(tmp_path):
    folder = tmp_path / "cap"
    write_capture(folder, parse_info(info_xml()), answers(), Redactor())
    summary = json.loads((folder / "_capture.json").read_text())
    assert summary["bridge_version"] == __version__ and summary["firmware"] == "8.2.127"
    assert summary["serial"] == "900000000001"
    assert summary["endpoints"]["/ivp/ensemble/power"] == {"file": "ivp_ensemble_power", "code": 404}
    assert summary["endpoints"]["/ivp/mod/900000000001/mode/power"]["code"] == 401
    assert summary["endpoints"]["/home"] == {"error": "gateway 900000000001 /home: timed out"}
    assert summary["masked"] == {"serials": 2}


def test_the_simulator_serves_the_folder_as_the_gateway_answered(tmp_path):
    folder = tmp_path / "cap"
    write_capture(folder, parse_info(info_xml()), answers(), Redactor())
    source = CaptureSource(folder)
    status, content_type, body = source.answer("/info", "")
    assert (status, content_type) == (200, "text/xml") and b"<sn>900000000001</sn>" in body
    assert source.answer("/ivp/ensemble/power", "")[:2] == (404, "application/json")
    assert source.answer("/ivp/mod/900000000001/mode/power", "")[0] == 401
    assert source.answer("/home", "")[0] == 404  # no answer was captured: nothing is served


def test_a_capture_never_mixes_with_an_older_one(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "info").write_text("x")
    with pytest.raises(BridgeError, match="not empty"):
        write_capture(tmp_path / "old", parse_info(info_xml()), answers(), Redactor())
    (tmp_path / "file").write_text("x")
    with pytest.raises(BridgeError, match="not a directory"):
        write_capture(tmp_path / "file", parse_info(info_xml()), answers(), Redactor())


def test_the_zip_holds_the_folder_is_0600_and_never_replaces_a_file(tmp_path):
    folder = tmp_path / "cap"
    write_capture(folder, parse_info(info_xml()), answers(), Redactor())
    archive = write_zip(folder)
    assert archive == tmp_path / "cap.zip" and stat.S_IMODE(archive.stat().st_mode) == 0o600
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == sorted(f"cap/{p.name}" for p in folder.iterdir())
        assert opened.read("cap/info") == (folder / "info").read_bytes()
    with pytest.raises(BridgeError, match=r"cap\.zip"):
        write_zip(folder)
