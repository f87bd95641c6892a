"""bridge.capture.command: the `capture` command's choices and refusals, before any request."""

from __future__ import annotations

import pytest
import yaml

from bridge.cli import main


def config_file(tmp_path, *hosts):
    gateways = [{"host": host, "tls": {"insecure": True}} for host in hosts]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"gateways": gateways, "cache_dir": str(tmp_path / "cache")}))
    return path


def test_output_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["capture", "-c", "config.yaml"])
    assert exit_.value.code == 2 and "-o/--output" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--gateway: say which gateway to capture (192.0.2.1, 192.0.2.2)"),
        (["--gateway", "192.0.2.9"], "--gateway 192.0.2.9: no such gateway (192.0.2.1, 192.0.2.2)"),
    ],
)
def test_one_gateway_is_captured_and_with_several_it_must_be_named(tmp_path, capsys, extra, message):
    config = config_file(tmp_path, "192.0.2.1", "192.0.2.2")
    assert main(["capture", "-c", str(config), "-o", str(tmp_path / "cap"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cap").exists()


def test_a_negative_pause_is_refused(tmp_path, capsys):
    config = config_file(tmp_path, "192.0.2.1")
    assert main(["capture", "-c", str(config), "-o", str(tmp_path / "cap"), "--pause", "-1"]) == 2
    assert "--pause: must be 0 or more seconds" in capsys.readouterr().err


def test_a_folder_that_is_not_empty_is_refused_before_the_gateway_sees_a_request(tmp_path, capsys):
    config = config_file(tmp_path, "192.0.2.1")  # TEST-NET: a request would hang, not fail
    (tmp_path / "cap").mkdir()
    (tmp_path / "cap" / "info").write_text("older")
    assert main(["capture", "-c", str(config), "-o", str(tmp_path / "cap")]) == 1
    err = capsys.readouterr().err
    assert "not empty; a capture goes into a new or empty directory" in err and "Traceback" not in err
    assert (tmp_path / "cap" / "info").read_text() == "older"
