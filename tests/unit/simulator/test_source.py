"""Serving a capture folder: file names from paths, recorded status and type, no way out."""

from __future__ import annotations

import json

import pytest

from bridge.simulator.source import DEFAULT_CAPTURE, NOT_FOUND, CaptureSource


def test_capture_source_refuses_paths_out_of_the_folder(tmp_path):
    (tmp_path / "secret").write_text("x")
    source = CaptureSource(tmp_path)
    assert source.answer("/../secret", "")[0] == 404
    assert source.answer("/x", "a=../secret")[0] == 404
    assert source.answer("/secret_log.json", "")[0] == 404
    (tmp_path / "_capture.json").write_text("{}")  # the capture's own summary: not an endpoint
    assert source.answer("/_capture.json", "")[0] == 404


def test_recorded_status_and_type_come_from_the_log_beside_the_body(tmp_path):
    (tmp_path / "admin_lib_tariff").write_text("Unauthorized")
    log = {"code": 401, "headers": {"CONTENT-TYPE": "text/plain"}}
    (tmp_path / "admin_lib_tariff_log.json").write_text(json.dumps(log))
    (tmp_path / "ivp_meters").write_text("[]")
    (tmp_path / "ivp_meters_log.json").write_text("{not json")  # ignored: served as a plain 200
    (tmp_path / "info").write_text("<envoy_info/>")
    source = CaptureSource(tmp_path)
    assert source.answer("/admin/lib/tariff", "") == (401, "text/plain", b"Unauthorized")
    assert source.answer("/ivp/meters", "") == (200, "application/json", b"[]")
    assert source.answer("/info", "") == (200, "text/xml", b"<envoy_info/>")
    assert source.answer("/ivp/ensemble/inventory", "") == NOT_FOUND


def test_the_built_in_capture_and_a_missing_folder(tmp_path):
    status, content_type, body = CaptureSource(DEFAULT_CAPTURE).answer("/info", "")
    assert (status, content_type) == (200, "text/xml") and b"<sn>999000000001</sn>" in body
    with pytest.raises(FileNotFoundError, match="capture folder not found"):
        CaptureSource(tmp_path / "nowhere")
