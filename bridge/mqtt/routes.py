"""Messages the bridge receives for its handlers (the controls' commands, requests), each handled once.

A broker sends one copy of a message per matching subscription of the client. The publisher
always holds `{base}/#` (bridge/mqtt/restore.py watches its own topics there), so a filter
below the base topic gets no subscription of its own: its messages already come, once, on that
one, and are routed here by topic. Only a filter outside the base topic is subscribed for
itself, on every connect. A message goes to every registration whose filters match it, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

Handler = Callable[[mqtt.MQTTMessage], None]


@dataclass(frozen=True)
class Route:
    filters: tuple[str, ...]
    handler: Handler


class Routes:
    def __init__(self, held_filter: str) -> None:
        """`held_filter`: the `{base}/#` subscription the publisher holds on every connection."""
        self._below_held = held_filter.removesuffix("#")
        self._lock = threading.Lock()  # registrations come from any thread, messages from paho's
        self._routes: tuple[Route, ...] = ()

    def add(self, filters: tuple[str, ...], handler: Handler) -> tuple[str, ...]:
        """Register `handler` for `filters`; returns those that need a subscription of their own."""
        with self._lock:
            self._routes += (Route(filters, handler),)
        return tuple(f for f in filters if not self._covered(f))

    def own_subscriptions(self) -> tuple[str, ...]:
        """Every registered filter the held subscription does not cover, once."""
        with self._lock:
            routes = self._routes
        return tuple(dict.fromkeys(f for route in routes for f in route.filters if not self._covered(f)))

    def route(self, message: mqtt.MQTTMessage) -> bool:
        """Hand `message` to each registration it matches; False when none does."""
        with self._lock:
            routes = self._routes
        matched = [r for r in routes if any(mqtt.topic_matches_sub(f, message.topic) for f in r.filters)]
        for route in matched:
            route.handler(message)
        return bool(matched)

    def _covered(self, topic_filter: str) -> bool:
        return topic_filter.startswith(self._below_held)
