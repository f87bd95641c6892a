"""The embedded broker's routing without sockets: retained messages, delivery QoS, takeover."""

from __future__ import annotations

from bridge.demo.broker.packets import Message
from bridge.demo.broker.routing import Router
from bridge.demo.broker.topics import topic_matches


class FakeSession:
    """A connected client as routing sees it: its subscriptions, what it was sent."""

    def __init__(self, client_id: str, subscriptions: dict[str, int]):
        self.client_id, self.subscriptions = client_id, subscriptions
        self.delivered: list[tuple[str, bytes, int, bool]] = []
        self.taken_over = False

    def granted(self, topic: str) -> int:
        return max((q for f, q in self.subscriptions.items() if topic_matches(f, topic)), default=-1)

    def deliver(self, message: Message, qos: int, retain: bool = False) -> None:
        self.delivered.append((message.topic, message.payload, qos, retain))

    def take_over(self) -> None:
        self.taken_over = True


def test_delivers_to_matching_sessions_at_the_lower_qos():
    router = Router()
    high, low, other = (
        FakeSession("high", {"a/b": 2}),
        FakeSession("low", {"a/#": 0}),
        FakeSession("other", {"c": 2}),
    )
    for session in (high, low, other):
        router.register(session)
    router.route(Message("a/b", b"x", qos=1))
    assert high.delivered == [("a/b", b"x", 1, False)]
    assert low.delivered == [("a/b", b"x", 0, False)]
    assert other.delivered == []


def test_retained_messages_are_kept_replaced_and_cleared():
    router = Router()
    router.route(Message("a/1", b"old", retain=True))
    router.route(Message("a/1", b"new", qos=1, retain=True))
    router.route(Message("a/2", b"gone", retain=True))
    router.route(Message("a/2", b"", retain=True))  # an empty retained message clears the topic
    router.route(Message("b/1", b"live"))  # not retained: not kept
    assert router.retained_for(["a/#", "b/#"]) == [Message("a/1", b"new", 1, True)]
    assert router.retained_for(["a/2", "c/+"]) == []


def test_takeover_ends_the_older_session_and_forget_keeps_the_newer():
    router = Router()
    old, new = FakeSession("bridge", {"t": 1}), FakeSession("bridge", {"t": 1})
    router.register(old)
    router.register(new)
    assert old.taken_over and not new.taken_over
    router.forget(old)  # the old connection ending later must not unregister the new one
    router.route(Message("t", b"x", qos=1))
    assert new.delivered == [("t", b"x", 1, False)] and old.delivered == []
    router.forget(new)
    assert router.sessions == {}
