"""The CONNACK watch: a connection the broker never answers is said once and cut, so paho reconnects."""

from __future__ import annotations

import logging
import socket
import time

from bridge.mqtt.connack import CONNACK_TIMEOUT_S, ConnackWatch
from bridge.mqtt.guard import Guard
from bridge.mqtt.monitor import ConnectionMonitor
from tests.support.clock import FakeClock
from tests.support.mqtt import wait_for


def watch(timeout: float = 0.1) -> tuple[ConnackWatch, list[str]]:
    said: list[str] = []
    return ConnackWatch(timeout, said.append, Guard()), said


def test_the_default_timeout_is_ten_seconds():
    assert CONNACK_TIMEOUT_S == 10.0


def test_h11_11_no_connack_within_the_timeout_is_said_once_and_the_socket_is_shut_down():
    connack, said = watch(0.1)
    ours, broker = socket.socketpair()
    try:
        connack.opened(ours)
        wait_for(lambda: said, 5, message="the timeout")
        assert said == ["accepted the connection but sent no CONNACK within 0.1 s"]
        broker.settimeout(5)
        assert broker.recv(1) == b""  # the end of the stream: what makes paho reconnect
        connack.closed()  # paho's on_disconnect after that: not said twice
        assert len(said) == 1 and connack.stats["timeouts"] == 1
    finally:
        ours.close()
        broker.close()


def test_an_answer_in_time_stops_the_watch():
    connack, said = watch(0.1)
    ours, broker = socket.socketpair()
    try:
        connack.opened(ours)
        connack.answered()
        time.sleep(0.3)
        assert said == []
        connack.closed()  # a later drop of a connection that was answered is the monitor's business
        assert said == []
    finally:
        ours.close()
        broker.close()


def test_a_connection_closed_before_any_answer_is_said():
    connack, said = watch(5.0)
    ours, broker = socket.socketpair()
    try:
        connack.opened(ours)
        connack.closed()
        assert said == ["ended the connection without answering the MQTT CONNECT"]
    finally:
        ours.close()
        broker.close()


def test_a_new_attempt_replaces_the_old_ones_watch():
    connack, said = watch(0.15)
    (first, peer1), (second, peer2) = socket.socketpair(), socket.socketpair()
    try:
        connack.opened(first)
        connack.opened(second)
        connack.answered()
        time.sleep(0.4)
        assert said == []  # the first attempt's timer did not outlive it
    finally:
        for sock in (first, second, peer1, peer2):
            sock.close()


def test_the_monitor_says_it_once_naming_the_broker(caplog):
    monitor = ConnectionMonitor("127.0.0.1:1884", "bridge", FakeClock(0.0))
    monitor.starting()
    for _ in range(5):
        monitor.unanswered("accepted the connection but sent no CONNACK within 10 s")
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and monitor.stats["unanswered"] == 5
    assert "127.0.0.1:1884 accepted the connection but sent no CONNACK within 10 s" in lines[0]
    assert "mqtt.tls" in lines[0]
