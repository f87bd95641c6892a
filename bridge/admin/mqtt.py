"""Requests on MQTT: `{base}/bridge/request/<verb>` in, `{base}/bridge/response/<verb>` out.

A retained request is never run (a broker replaying an old `poll` or `log_level` after a
restart): one INFO line per topic. A request that cannot be read (not JSON, an unknown verb, a
bad key) gets an error response and one WARNING line (the same refusal again: at most one line
a minute, with the count). Responses are QoS 1, not retained: `{"status", "data", "error", "transaction"}`.
Runs on paho's thread, behind the publisher's guard; responses also come from the workers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from bridge import identifiers
from bridge.admin import requests
from bridge.admin.requests import Request
from bridge.admin.verbs import Verbs
from bridge.errors import RequestRefused
from bridge.mqtt.guard import Quiet
from bridge.mqtt.publisher import Publisher

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0  # the same refusal again: the first logged, then at most one line a minute
MAX_PACED = 200  # refusals told apart for the pacing; past that, they share one pace
QUIET_VERBS = ("read", "health_check")  # answered at DEBUG: support tools ask often


class RequestsMqtt:
    def __init__(self, publisher: Publisher, base_topic: str, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.publisher, self.base_topic, self._monotonic = publisher, base_topic, monotonic
        self.verbs: Verbs | None = None  # set by the app once the workers exist
        self._ignored = identifiers.Refusals(limit=100)
        self._quiet: dict[tuple[str, str], Quiet] = {}  # per verb and error; from paho's and the workers' threads
        self._quiet_lock = threading.Lock()

    def start(self, verbs: Verbs) -> None:
        self.verbs = verbs
        self.publisher.subscribe_commands((requests.request_filter(self.base_topic),), self.on_message)

    def on_message(self, message: mqtt.MQTTMessage) -> None:
        topic, payload = message.topic, bytes(message.payload)
        if message.retain:
            if self._ignored.first_time(topic):
                log.info(
                    "Requests: ignoring the retained request on %s (an old one, replayed)", identifiers.show(topic)
                )
            return
        verb = requests.verb_of(topic, self.base_topic)
        if verb is None or self.verbs is None:
            self._log_refusal("?", f"{identifiers.show(topic, 200)} is not a request topic this bridge answers")
            return
        try:
            request = requests.parse(verb, payload)
        except RequestRefused as err:
            self.respond(Request(verb, {}, err.transaction), None, str(err))
            return
        self.verbs.handle(request)

    def respond(self, request: Request, data: Any, error: str | None) -> None:
        """Publish the response (from paho's thread or a worker's) and say it in the log."""
        if error is not None:
            self._log_refusal(request.verb, error)
        else:
            level = logging.DEBUG if request.verb in QUIET_VERBS else logging.INFO
            log.log(level, "Requests: %s done", request.verb)
        document = requests.response(request.transaction, data, error)
        self.publisher.publish_event(
            requests.response_topic(self.base_topic, request.verb),
            json.dumps(document, allow_nan=False, separators=(",", ":")),
        )

    def _log_refusal(self, verb: str, error: str) -> None:
        key = (verb, error) if len(self._quiet) < MAX_PACED else ("", "")  # a flood of new texts shares one
        with self._quiet_lock:
            count = self._quiet.setdefault(key, Quiet(LOG_EVERY_S, self._monotonic)).due()
        if count is not None:
            more = f" ({count - 1} more since the last line)" if count > 1 else ""
            log.warning("Requests: %s refused: %s%s", identifiers.show(verb, 64), error, more)
