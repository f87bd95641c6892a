"""The live group of one gateway: whether a live reading is fresh, and keeping the stream on.

`/ivp/livedata/status` moves while the gateway's live-data stream is on; the gateway switches the
stream off on its own, and then shows its last values frozen (some firmware keeps sampling,
reference §2.1). So after every read: a reading whose `meters.last_update` is older than three
polls and has not advanced for as long is stale (not published: the live entities expire), and a
stream that reads "disabled", or stale data from one that does not read "enabled", gets one
`POST /ivp/livedata/stream {"enable": 1}` (§2.2): 5 s after the last one when the stream read
"enabled" since (it worked, then the gateway timed it out: a gap of a second, not a minute), a
minute after one that failed or did not take, and never while it reads "enabled" (the gateway
may answer 400 then). A refused enable (an owner token, 401/403) is said
once and not asked again until the next probe; the group goes on reading what the gateway gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bridge import model
from bridge.errors import AuthError, EnvoyAuthError, EnvoyError
from bridge.gateway.client import EnvoyClient

log = logging.getLogger(__name__)

STALE_POLLS = 3
STALE_MIN_S = 10.0  # a gateway that samples every few seconds is not stale at a 1 s poll
ENABLE_AGAIN_S = 5.0  # after an enable that took: the gateway's own timeout ended it
ENABLE_RETRY_S = 60.0  # after one that failed or did not take
ENABLE = {"enable": 1}
REFUSED = (401, 403)


class LiveStream:
    """The live group's memory of one gateway: the last sample seen, the last enable, what was said."""

    def __init__(self, client: EnvoyClient, monotonic: Callable[[], float], wall: Callable[[], float]) -> None:
        self._client, self._monotonic, self._wall = client, monotonic, wall
        self.serial = ""  # for the log lines, set by `restart`
        self._sample: int | None = None  # meters.last_update as last seen
        self._sample_seen_at = 0.0  # monotonic time it was first seen
        self._took = False  # the stream read "enabled" since the last enable
        self._tried_at: float | None = None  # the last enable
        self._refused = False  # this token may not enable it: not asked again until the next probe
        self._said: set[str] = set()  # lines said once per bridge run

    def restart(self, serial: str) -> None:
        """After a probe (an outage, a new firmware): a sample seen before tells nothing now."""
        self.serial, self._sample, self._refused = serial, None, False

    def read(self, parsed: dict[str, Any], interval: float) -> model.LiveDocument | None:
        """After a read of the live group: the document of a fresh reading; a stale one is taken
        out of `parsed` (never published, nor used for the grid status). Either way the stream
        is kept on."""
        reading = parsed.get(model.LIVE_PATH)
        if not isinstance(reading, model.LiveData):
            return None
        fresh = self.fresh(reading, interval)
        self.keep_enabled(reading, stale=not fresh)
        if not fresh:
            parsed.pop(model.LIVE_PATH)
            return None
        return model.live_document(parsed, self._wall())

    def fresh(self, reading: model.LiveData, interval: float) -> bool:
        """A sample is live while it is recent or still advancing (the gateway's clock may be off):
        stale once older than three polls (10 s at least) and unchanged for as long, or never taken."""
        sample = reading.last_update
        if sample is None:
            return False
        now, limit = self._monotonic(), max(STALE_POLLS * interval, STALE_MIN_S)
        recent = self._wall() - sample <= limit
        if sample != self._sample:
            first = self._sample is None
            self._sample, self._sample_seen_at = sample, now
            return recent or not first  # a new sample is live; at first sight only its age tells
        return recent or now - self._sample_seen_at <= limit

    def keep_enabled(self, reading: model.LiveData, stale: bool) -> None:
        if reading.sc_stream == "enabled":
            self._took = True
        if reading.sc_stream == "enabled" or not (reading.sc_stream == "disabled" or stale):
            return
        now, spacing = self._monotonic(), ENABLE_AGAIN_S if self._took else ENABLE_RETRY_S
        if self._refused or (self._tried_at is not None and now - self._tried_at < spacing):
            return
        self._tried_at, self._took = now, False
        path = model.LIVE_STREAM_PATH
        try:
            answer = model.parse_stream_reply(path, model.decode_json(path, self._client.post_json(path, ENABLE)))
        except (EnvoyError, AuthError) as err:
            self._not_enabled(err)
        else:
            self._say(
                "enabled",
                logging.INFO,
                "live-data stream was %s; switched it on (the gateway answers %s)",
                reading.sc_stream or "stale",
                answer or "no state",
            )

    def _not_enabled(self, err: EnvoyError | AuthError) -> None:
        if isinstance(err, EnvoyAuthError) or getattr(err, "status", None) in REFUSED:
            self._refused = True
            self._say(
                "refused",
                logging.INFO,
                "the gateway refuses to switch its live-data stream on for this token (%s); "
                "live data are read as the gateway gives them",
                err,
            )
        else:
            log.debug("Gateway %s: could not switch the live-data stream on, again in a minute: %s", self.serial, err)

    def probed(self, info: model.GatewayInfo, polled: bool, probe_error: str | None, switched_off: bool) -> None:
        """After a probe: when it left the live data out, why, once per firmware (INFO)."""
        if polled:
            return
        if switched_off:
            why = "poll.live is 0"
        elif not info.uses_token_auth:
            why = f"firmware {info.firmware} has none, it needs 7 or later"
        elif probe_error:
            why = probe_error
        else:
            why = "no CTs and no Ensemble devices, where the gateway reports only zeros"
        self._say(f"absent {info.firmware} {why}", logging.INFO, "no live data (%s): no live topic", why)

    def _say(self, key: str, level: int, message: str, *args: object) -> None:
        """A line said once per bridge run (then at DEBUG): a stream the gateway turns off every
        few minutes must not fill the log."""
        first = key not in self._said
        self._said.add(key)
        log.log(level if first else logging.DEBUG, "Gateway %s: %s", self.serial, message % args)
