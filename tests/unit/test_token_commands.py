"""The token commands against the simulator's gateway over real HTTPS: import (argument, file,
stdin), show, renew --flow; a bad token exits non-zero, is never sent and writes nothing."""

from __future__ import annotations

import io
import json
import os
import stat
import time
from types import SimpleNamespace

import pytest
import responses
import yaml

from bridge.auth.tokens import DAY_S
from bridge.cli import main
from bridge.simulator import Simulator
from tests.support.processes import write_config
from tests.support.tokens import make_token
from tests.unit.auth.helpers import AUTH_TOKEN, ENLIGHTEN, ENTREZ, LOGIN, TOKENS, enlighten_ok

pytestmark = pytest.mark.integration
BROKER = SimpleNamespace(host="127.0.0.1", port=1883)  # never contacted by a token command


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def config(tmp_path, sim):
    return write_config(tmp_path, sim, BROKER)


def cache(tmp_path):
    return tmp_path / "cache" / "token.jwt"


def checks(sim) -> int:
    return sim.request_counts.get("/auth/check_jwt", 0)


def test_import_from_the_argument_checks_at_the_gateway_and_keeps_it(tmp_path, sim, config, capsys):
    token = sim.issue_token()
    assert main(["token", "import", "-c", str(config), token]) == 0
    out = capsys.readouterr().out
    assert "type:      owner" in out and "expires:" in out and "flow:      import" in out and "eyJ" not in out
    assert checks(sim) == 1
    assert cache(tmp_path).read_text() == token and stat.S_IMODE(os.stat(cache(tmp_path)).st_mode) == 0o600
    meta_path = cache(tmp_path).with_name("token.jwt.meta.json")
    assert json.loads(meta_path.read_text())["flow"] == "import"
    assert stat.S_IMODE(os.stat(meta_path).st_mode) == 0o600


def test_import_from_a_file(tmp_path, sim, config, capsys):
    token_file = tmp_path / "pasted.txt"
    token_file.write_text(f"\n{sim.issue_token(user_type='installer', lifetime_s=12 * 3600)}\n")
    assert main(["token", "import", "-c", str(config), str(token_file)]) == 0
    assert "type:      installer" in capsys.readouterr().out
    assert cache(tmp_path).read_text() == token_file.read_text().strip()


@pytest.mark.parametrize("argv", [[], ["-"]])
def test_import_from_stdin(tmp_path, sim, config, monkeypatch, argv):
    token = sim.issue_token()
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert main(["token", "import", "-c", str(config), *argv]) == 0
    assert cache(tmp_path).read_text() == token


def now_token(sim, **kw):
    """A token on the real clock (the command checks expiry against it), for this gateway unless told."""
    return make_token(kw.pop("exp_in", 100 * DAY_S), aud=kw.pop("aud", sim.serial), now=time.time(), **kw)


@pytest.mark.parametrize(
    "bad, check",
    [
        (lambda sim: now_token(sim, aud="999999999999"), "aud"),
        (lambda sim: now_token(sim, exp_in=-3600), "exp"),
        (lambda sim: now_token(sim, iss="Somebody"), "iss"),
        (lambda sim: now_token(sim, enphaseUser="support"), "enphaseUser"),
        (lambda sim: "aaaa.bbbb.cccc", "format"),
    ],
)
def test_a_token_failing_an_offline_check_exits_1_unsent_and_unwritten(tmp_path, sim, config, capsys, bad, check):
    token = bad(sim)
    assert main(["token", "import", "-c", str(config), token]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: the token") and last.endswith(f"(offline check: {check})") and token not in last
    assert checks(sim) == 0 and not cache(tmp_path).exists()


def test_a_token_the_gateway_refuses_is_not_written(tmp_path, sim, config, capsys):
    forged = now_token(sim)  # right claims, wrong signature
    assert main(["token", "import", "-c", str(config), forged]) == 1
    assert "refused the token" in capsys.readouterr().err
    assert checks(sim) == 1 and not cache(tmp_path).exists()


def test_an_argument_that_is_neither_a_file_nor_a_token(tmp_path, config, capsys):
    assert main(["token", "import", "-c", str(config), str(tmp_path / "missing.txt")]) == 1
    assert "neither a readable file (No such file or directory) nor a token" in capsys.readouterr().err
    assert not cache(tmp_path).exists()


def test_show_says_which_flow_made_the_token_and_when(tmp_path, sim, config, capsys):
    main(["token", "import", "-c", str(config), sim.issue_token()])
    capsys.readouterr()
    assert main(["token", "show", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"serial:    {sim.serial}" in out and "flow:      import, 20" in out and " UTC" in out


def test_renew_by_one_flow_tries_that_flow_alone(tmp_path, sim, capsys):
    config = write_config(tmp_path, sim, BROKER)
    text = yaml.safe_load(config.read_text())
    text["cloud"] = {"enlighten_url": ENLIGHTEN, "entrez_url": ENTREZ}
    config.write_text(yaml.safe_dump(text))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as cloud:
        cloud.add_passthru(sim.envoy_url)  # the real gateway; the cloud is scripted
        enlighten_ok(cloud)
        cloud.post(TOKENS, status=500)
        cloud.get(AUTH_TOKEN, json={"token": sim.issue_token(), "expires_at": 1, "generation_time": 0})
        assert main(["token", "renew", "-c", str(config), "--flow", "enlighten_get"]) == 0
        assert [c.request.url.split("?")[0] for c in cloud.calls] == [LOGIN, AUTH_TOKEN]
    assert "flow:      enlighten_get" in capsys.readouterr().out
    assert json.loads(cache(tmp_path).with_name("token.jwt.meta.json").read_text())["flow"] == "enlighten_get"
    assert checks(sim) == 1
    assert main(["token", "show", "-c", str(config)]) == 0
    assert "flow:      enlighten_get, 20" in capsys.readouterr().out


def test_renew_refuses_an_unknown_flow(config, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["token", "renew", "-c", str(config), "--flow", "carrier_pigeon"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_several_gateways_need_gateway_for_an_import(tmp_path, sim, config, capsys):
    text = yaml.safe_load(config.read_text())
    text["gateways"].append({"host": "other.invalid", "serial": "999999999999", "tls": {"insecure": True}})
    config.write_text(yaml.safe_dump(text))
    token = sim.issue_token()
    assert main(["token", "import", "-c", str(config), token]) == 2
    assert "say which one the token is for" in capsys.readouterr().err
    assert main(["token", "import", "-c", str(config), "--gateway", "nope", token]) == 2
    assert "--gateway nope: no such gateway" in capsys.readouterr().err
    host = sim.envoy_host.rsplit(":", 1)[0]
    label = f"{host}:{sim.envoy_port}"
    assert main(["token", "import", "-c", str(config), "--gateway", label, token]) == 0
    assert cache(tmp_path).read_text() == token
