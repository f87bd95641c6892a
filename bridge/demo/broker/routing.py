"""Who is connected and what is retained: the state the broker's sessions share.

Touched only from the broker's event loop, so it needs no lock. It sees a session only through
`Subscriber`, which keeps it free of sockets (and of an import cycle with `session`).
"""

from __future__ import annotations

from typing import Protocol

from bridge.demo.broker.packets import Message
from bridge.demo.broker.topics import topic_matches


class Subscriber(Protocol):
    """What routing needs of a connected session."""

    @property
    def client_id(self) -> str: ...

    def granted(self, topic: str) -> int:
        """Highest QoS among the matching subscriptions, -1 when none match."""
        ...

    def deliver(self, message: Message, qos: int, retain: bool = False) -> None: ...

    def take_over(self) -> None:
        """A newer connection with this client id arrived: end this one, as if it had broken."""
        ...


class Router:
    def __init__(self) -> None:
        self.sessions: dict[str, Subscriber] = {}  # connected, by client id
        self.retained: dict[str, Message] = {}

    def register(self, session: Subscriber) -> None:
        """Session takeover: the newer connection wins, and the older one's will goes out now,
        before the newer one can publish (a bridge's `online` must not be undone by its own
        old `offline`)."""
        old = self.sessions.get(session.client_id)
        self.sessions[session.client_id] = session
        if old is not None:
            old.take_over()

    def forget(self, session: Subscriber) -> None:
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    def route(self, message: Message) -> None:
        """Keep it when retained (an empty retained message clears the topic), deliver it to
        every matching session at the lower of the published and the granted QoS."""
        if message.retain:
            if message.payload:
                self.retained[message.topic] = message
            else:
                self.retained.pop(message.topic, None)
        for session in list(self.sessions.values()):
            qos = session.granted(message.topic)
            if qos >= 0:
                session.deliver(message, min(qos, message.qos))

    def retained_for(self, filters: list[str]) -> list[Message]:
        return [m for t, m in self.retained.items() if any(topic_matches(f, t) for f in filters)]
