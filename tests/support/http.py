"""The bridge's HTTP endpoint as the tests read it: a GET, and a bridge configuration with `http:`."""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any

import yaml


def get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, str]:
    """(status, body as text) of a GET to the bridge on `port`."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def with_http(config: Path, port: int, **sections: Any) -> Path:
    """The configuration file `config` (tests/support/processes.write_config) with `http.listen`
    on loopback `port`, and any other sections given (`health={"max_silence": 8}`)."""
    data = yaml.safe_load(config.read_text())
    data["http"] = {"listen": f"127.0.0.1:{port}"}
    data.update(sections)
    config.write_text(yaml.safe_dump(data))
    return config
