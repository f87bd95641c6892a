"""Configuration: what the user may set, where it comes from, and how it is checked.

Owns the frozen dataclasses and their defaults (`schema`), reading YAML and environment
overrides (`load`), turning that raw mapping into a `Config` with secret files read on the way
(`build`), the coercion and checks that collect every problem with its key path (`validate`),
and check-config's masked summary (`describe`). May import only `bridge.errors` and
`bridge.identifiers` (the rule for names in topics, which imports nothing of the bridge):
every other part of the bridge imports this package, never the other way round.
"""

from __future__ import annotations

from bridge.config.describe import describe
from bridge.config.load import load_config
from bridge.config.schema import (
    CloudApiConfig,
    CloudConfig,
    Config,
    ControlsConfig,
    EnergyConfig,
    GatewayConfig,
    HomeAssistantConfig,
    HttpConfig,
    MqttConfig,
    PollIntervals,
)

__all__ = [
    "CloudApiConfig",
    "CloudConfig",
    "Config",
    "ControlsConfig",
    "EnergyConfig",
    "GatewayConfig",
    "HomeAssistantConfig",
    "HttpConfig",
    "MqttConfig",
    "PollIntervals",
    "describe",
    "load_config",
]
