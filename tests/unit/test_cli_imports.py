"""What `run` imports: only what a run uses (issue 17: its RSS is what it imports). Each check
runs in a fresh interpreter, since this one has imported everything already."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# Never in a run that does not configure them: the other commands, the HTTP endpoint, the cloud API.
NOT_IN_A_RUN = (
    "bridge.simulator",
    "bridge.demo",
    "bridge.capture.command",
    "bridge.token_commands",
    "bridge.cloud_commands",
    "bridge.http",
    "bridge.cloudapi",
    "prometheus_client",
)
# What `cmd_run` does up to starting the threads: parse, load the configuration, build the bridge.
RUN = """
import sys
from bridge import cli
from bridge.app import Bridge

args = cli._parser(cli._command_of(sys.argv[1:])).parse_args(sys.argv[1:])
Bridge(cli.load_config(args.config))
print("\\n".join(sorted(sys.modules)))
"""


def _python(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_run_imports_neither_the_other_commands_nor_what_it_is_not_configured_for(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "gateways": [
                    {
                        "host": "https://192.0.2.1",
                        "token": "x.y.z",
                        "tls": {"fingerprint": "ab" * 32},
                        "token_cache": str(tmp_path / "t.jwt"),
                    }
                ],
                "cache_dir": str(tmp_path),
                "mqtt": {"host": "127.0.0.1", "port": 1},
            }
        )
    )
    modules = _python("-c", RUN, "run", "-c", str(config)).split()
    assert "bridge.gateway.worker" in modules and "bridge.mqtt.publisher" in modules  # the run itself
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_IN_A_RUN)]
    assert loaded == []


def test_help_still_lists_every_command():
    out = _python("-m", "bridge", "--help")
    for command in ("run", "check-config", "token", "cloud", "fingerprint", "capture", "simulate", "demo", "health"):
        assert command in out


def test_a_command_outside_the_lean_ones_still_parses_its_own_arguments():
    assert "--time-factor" in _python("-m", "bridge", "simulate", "--help")
    assert "renew" in _python("-m", "bridge", "token", "--help")
