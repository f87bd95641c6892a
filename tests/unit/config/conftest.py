"""Load a configuration from YAML text, as a user's file would be: the config tests' one helper."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from bridge.config import Config, load_config
from bridge.errors import ConfigError

# The smallest valid file: one gateway, told how to trust its self-signed certificate.
MINIMAL = "gateways:\n  - host: envoy.local\n    tls: {insecure: true}\n"


@pytest.fixture
def load(tmp_path) -> Callable[..., Config]:
    """load(text, environ={}) -> Config, from a config.yaml holding `text`."""

    def loader(text: str, environ: Mapping[str, str] | None = None) -> Config:
        path = tmp_path / "config.yaml"
        path.write_text(text)
        return load_config(path, environ or {})

    return loader


@pytest.fixture
def problems(load) -> Callable[..., list[str]]:
    """problems(text, environ={}) -> every problem the loader reports (it must report one)."""

    def collect(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
        with pytest.raises(ConfigError) as err:
            load(text, environ)
        return err.value.problems

    return collect
