"""Which loopback addresses this machine has: some containers have no IPv6 at all, and the
tests that need ::1 skip there rather than fail."""

from __future__ import annotations

import socket


def ipv6_loopback() -> bool:
    """Whether a socket can be bound to ::1."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True
