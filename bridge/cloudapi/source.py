"""CloudApiSource: the cloud API as the rest of the bridge sees it (the entry point for the
step that publishes it): typed documents or None, never an exception.

Every failure is one log line and a None: the budget says not now (DEBUG), the API or network
failed (WARNING), an endpoint outside the plan (one WARNING, then it is not asked again). A
refused key or client stops the source for good (one ERROR; `stopped` says why); a missing or
expired consent is said once by the token keeper and the source waits for `cloud authorize`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

from bridge.cloudapi.budget import Budget, Limits, Usage
from bridge.cloudapi.client import CloudApiClient
from bridge.cloudapi.http import new_session
from bridge.cloudapi.keeper import TokenKeeper
from bridge.cloudapi.oauth import OAuth
from bridge.cloudapi.parse import (
    LatestTelemetry,
    Summary,
    Telemetry,
    parse_latest_telemetry,
    parse_summary,
    parse_telemetry,
)
from bridge.cloudapi.state import STATE_FILE, StateFile
from bridge.cloudapi.systems import find_system_id
from bridge.cloudapi.tokens import TOKENS_FILE, CloudTokens, TokenFile
from bridge.config import Config
from bridge.errors import CloudApiAuthExpired, CloudApiError, CloudApiKeyRefused, CloudApiNotInPlan, CloudApiQuota

log = logging.getLogger("bridge.cloudapi")

TELEMETRY_KINDS = ("production_meter", "consumption_meter", "battery")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CloudApiPaths:
    tokens: Path
    state: Path

    @classmethod
    def in_dir(cls, cache_dir: Path) -> CloudApiPaths:
        """Beside the gateways' token caches, in the bridge's cache directory."""
        return cls(cache_dir / TOKENS_FILE, cache_dir / STATE_FILE)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What a diagnostic entity or `cloud status` shows."""

    stopped: str | None  # why the source stopped (a refused key), or None
    needs_authorize: bool
    system_id: int | None
    usage: Usage
    tokens: CloudTokens | None


class CloudApiSource:
    """One system's cloud data within the plan's limits. `serial`: the gateway's, to find the
    system (default: the first configured gateway serial)."""

    def __init__(
        self,
        config: Config,
        paths: CloudApiPaths | None = None,
        now: Callable[[], float] = time.time,
        *,
        serial: str | None = None,
        session: requests.Session | None = None,
    ):
        self.cfg = config.cloud_api
        paths = paths or CloudApiPaths.in_dir(config.cache_dir)
        self.serial = serial or next((gw.serial for gw in config.gateways if gw.serial), None)
        self._now = now
        self._session = session or new_session(self.cfg)
        self._state = StateFile(paths.state)
        limits = Limits(self.cfg.per_minute, self.cfg.per_month, self.cfg.spread)
        self.budget = Budget(limits, self._state.section("budget"), now())
        self.keeper = TokenKeeper(self.cfg, OAuth(self.cfg, self._session, now), TokenFile(paths.tokens), now)
        self.client = CloudApiClient(self.cfg, self.keeper, self.budget, self._session, now)
        self.stopped: str | None = None
        self._system_id: int | None = None
        self._not_in_plan: set[str] = set()

    def summary(self, urgent: bool = False) -> Summary | None:
        """The system's summary; `urgent` (an outage) skips the month's spread, never the limits."""
        return self._call("summary", {}, parse_summary, urgent)

    def latest_telemetry(self) -> LatestTelemetry | None:
        return self._call("latest_telemetry", {}, parse_latest_telemetry)

    def telemetry(self, kind: str, start_at: int | None = None, granularity: str = "day") -> Telemetry | None:
        """Intervals of `kind` (production_meter, consumption_meter, battery) from `start_at`
        (None: the system's local midnight today, as the API defaults)."""
        if kind not in TELEMETRY_KINDS:
            raise ValueError(f"unknown telemetry kind {kind!r}")
        params: dict[str, Any] = {"granularity": granularity}
        if start_at is not None:
            params["start_at"] = start_at
        return self._call(f"telemetry/{kind}", params, lambda doc: parse_telemetry(doc, kind))

    def in_plan(self, endpoint: str) -> bool:
        """False once the API said `endpoint` (summary, latest_telemetry, telemetry/<kind>) is
        outside the plan: it is not asked again."""
        return endpoint not in self._not_in_plan

    def next_call_at(self, urgent: bool = False) -> float:
        """When the budget lets the next call go (epoch s): the caller's schedule sleeps till then."""
        return self.budget.next_allowed(self._now(), urgent)

    def status(self) -> SourceStatus:
        return SourceStatus(
            self.stopped,
            self.keeper.needs_authorize,
            self._system_id,
            self.budget.usage(self._now()),
            self.keeper.tokens,
        )

    def close(self) -> None:
        self._session.close()

    def _call(self, endpoint: str, params: dict[str, Any], parse: Callable[[Any], T], urgent: bool = False) -> T | None:
        if self.stopped or endpoint in self._not_in_plan:
            return None
        try:
            system_id = self._system()
            return parse(self.client.get(f"systems/{system_id}/{endpoint}", params, urgent=urgent))
        except CloudApiKeyRefused as err:
            self.stopped = str(err)
            log.error("%s. The cloud source stops; the local side carries on.", err)
        except CloudApiAuthExpired:
            pass  # said once by the keeper
        except CloudApiNotInPlan as err:
            self._not_in_plan.add(endpoint)
            log.warning("%s; not asked again", err)
        except CloudApiQuota as err:
            log.debug("%s", err)
        except CloudApiError as err:
            log.warning("%s", err)
        return None

    def _system(self) -> int:
        if self._system_id is None:
            self._system_id = find_system_id(
                self.client, self.cfg.system_id, self.serial, self._state.section("system")
            )
        return self._system_id
