"""Which system the cloud source reads: `cloud_api.system_id`, else the one Enphase finds for
the gateway's serial (`retrieve_system_id`), else the account's only system (`/systems`). A
found id is kept in the state file with the serial it belongs to: one lookup, ever."""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from bridge.cloudapi.client import CloudApiClient
from bridge.cloudapi.state import Section
from bridge.errors import CloudApiDataError, CloudApiError, CloudApiNotFound

log = logging.getLogger("bridge.cloudapi")

MAX_SYSTEM_ID = 2**53


def find_system_id(client: CloudApiClient, configured: int, serial: str | None, cache: Section) -> int:
    if configured:
        return configured
    cached = cache.load() or {}
    cached_id = cached.get("system_id")
    if cached.get("serial") == serial and _is_id(cached_id):
        return cached_id
    system_id = _by_serial(client, serial) if serial else None
    if system_id is None:
        system_id = _only_system(client)
    log.info("cloud API: system id %d (for gateway %s); kept in the state file", system_id, serial or "unknown")
    cache.save({"serial": serial, "system_id": system_id})
    return system_id


def _by_serial(client: CloudApiClient, serial: str) -> int | None:
    try:
        doc = client.get("systems/retrieve_system_id", {"serial_num": serial}, urgent=True)
    except CloudApiNotFound:
        log.warning("cloud API: no system for gateway %s (a retired gateway?); trying the account's systems", serial)
        return None
    system_id = doc.get("system_id") if isinstance(doc, dict) else None
    if not _is_id(system_id):
        raise CloudApiDataError("cloud API retrieve_system_id: the answer has no system_id")
    return system_id


def _only_system(client: CloudApiClient) -> int:
    doc = client.get("systems", {"page": 1, "size": 100}, urgent=True)
    systems = doc.get("systems") if isinstance(doc, dict) else None
    if not isinstance(systems, list):
        raise CloudApiDataError("cloud API systems: the answer has no list of systems")
    ids = [sid for s in systems if isinstance(s, dict) and _is_id(sid := s.get("system_id"))]
    if len(ids) != 1:
        shown = ", ".join(str(i) for i in ids[:10]) or "none"
        raise CloudApiError(f"cloud API: the account has {len(ids)} systems ({shown}); set cloud_api.system_id")
    return ids[0]


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_SYSTEM_ID
