"""bridge.mqtt.client.send_at_once: no Nagle wait on the broker connection, and no error where a
transport has no such option."""

from __future__ import annotations

import socket

from bridge.mqtt.client import send_at_once


def test_a_tcp_socket_sends_at_once():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        send_at_once(sock)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_transports_without_the_option_are_left_as_they_are():
    asked = []

    class UnixLike:
        def setsockopt(self, *option):
            asked.append(option)
            raise OSError(95, "Operation not supported")

    send_at_once(UnixLike())  # refused: the connection stays as it is, no error
    send_at_once(object())  # no such method at all (a wrapper): nothing asked
    assert asked == [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
