"""The pacer: a burst goes out a slice at a time, each slice after the previous one settled."""

import threading

from bridge.mqtt.pacer import Pacer
from tests.support.mqtt import wait_for


class Sender:
    """Stands for the publisher: takes a slice and records it; each slice settles on `release`."""

    def __init__(self) -> None:
        self.slices: list[list[str]] = []
        self.release = threading.Semaphore(0)
        self.pacer: Pacer | None = None

    def send_slice(self, limit):
        assert self.pacer is not None
        self.slices.append(self.pacer.take(limit))
        return lambda timeout: self.release.acquire(timeout=timeout)


def pacer(slice_messages: int = 3, settle_s: float = 5.0) -> tuple[Pacer, Sender]:
    sender = Sender()
    sender.pacer = Pacer(sender.send_slice, lambda run: run, slice_messages, settle_s)
    return sender.pacer, sender


def test_a_burst_goes_out_one_slice_per_settled_slice_in_order():
    p, sender = pacer()
    p.add([f"t/{i}" for i in range(7)])
    wait_for(lambda: len(sender.slices) == 1, 5, message="the first slice")
    assert sender.slices == [["t/0", "t/1", "t/2"]] and p.pending == 4  # the next waits for the broker
    sender.release.release()
    wait_for(lambda: len(sender.slices) == 2, 5, message="the second slice")
    sender.release.release()
    wait_for(lambda: len(sender.slices) == 3, 5, message="the last slice")
    assert sender.slices[1:] == [["t/3", "t/4", "t/5"], ["t/6"]]
    assert p.wait_empty(1)
    p.stop()


def test_a_topic_queued_twice_goes_once_in_its_first_place_and_one_sent_directly_not_at_all():
    p, sender = pacer(slice_messages=10)
    p.add(["x"])
    wait_for(lambda: sender.slices == [["x"]], 5, message="the first slice")  # the thread waits for it to settle
    p.add(["a", "b", "c"])
    p.add(["b", "a", "d"])
    p.discard("c")  # the publisher sent it directly, with its latest value
    sender.release.release()
    wait_for(lambda: len(sender.slices) == 2, 5, message="the second slice")
    assert sender.slices[1] == ["a", "b", "d"] and p.pending == 0
    p.stop()


def test_a_slice_the_broker_never_acknowledges_holds_the_next_only_for_the_settle_time():
    p, sender = pacer(slice_messages=1, settle_s=0.05)
    p.add(["a", "b", "c"])
    wait_for(lambda: len(sender.slices) == 3, 5, message="every slice despite no acknowledgement")
    p.stop()


def test_while_the_broker_is_away_nothing_is_taken_and_stop_leaves_the_rest_to_the_caller():
    taken = []
    p = Pacer(lambda limit: None, lambda run: run, 2, 1.0)  # offline: the publisher takes nothing
    p.add(["a", "b", "c"])
    threading.Event().wait(0.1)
    p.stop()
    taken += p.take(None)
    assert taken == ["a", "b", "c"] and p.pending == 0
