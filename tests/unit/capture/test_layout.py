"""bridge.capture.layout: the real captures' file names, shared by `capture` and the simulator."""

from __future__ import annotations

from bridge.capture.layout import file_name, file_names, is_endpoint_file, log_name


def test_file_names_map_path_and_query():
    assert file_names("/ivp/meters/readings", "") == ["ivp_meters_readings"]
    assert file_names("/production.json", "details=1") == ["production.json_details_1", "production.json"]
    assert file_names("/inventory.json", "deleted=1") == ["inventory.json_deleted_1", "inventory.json"]


def test_an_endpoint_is_written_to_its_most_specific_name_with_its_log_beside():
    assert file_name("/production.json?details=1") == "production.json_details_1"
    assert file_name("/ivp/mod/603980032/mode/power") == "ivp_mod_603980032_mode_power"
    assert log_name("info") == "info_log.json"


def test_only_endpoint_bodies_are_endpoint_files():
    assert is_endpoint_file("ivp_meters")
    for name in ("", "info_log.json", "_capture.json", ".hidden", "a/b", "a\\b"):
        assert not is_endpoint_file(name), name
