"""The Enlighten Systems API v4 (reference §4): Enphase's cloud data for one system, within the
plan's request limits. Off unless `cloud_api` is configured.

`oauth` speaks OAuth (authorize URL, the pasted code, exchange, refresh, password grant),
`tokens` keeps the tokens in a 0600 file, `keeper` refreshes them ahead of expiry and says
once when consent is gone, `budget` (pure) decides when a call may go, `state` keeps its counts
and the system id across restarts, `http` builds the session and reads error envelopes,
`client` sends one GET within the budget, `systems` finds the system id, `parse` turns the
documents into frozen dataclasses, and `source` (CloudApiSource) is the one entry point.

May import: `bridge.errors`, `bridge.config`, `bridge.files`, `bridge.redaction`,
`bridge.network_errors`, `bridge.model`'s JSON codec, and `bridge.auth.cloud`'s extra-CA
adapter. Never the gateway client, MQTT or Home Assistant.
"""

from __future__ import annotations

from bridge.cloudapi.source import CloudApiPaths, CloudApiSource, SourceStatus

__all__ = ["CloudApiPaths", "CloudApiSource", "SourceStatus"]
