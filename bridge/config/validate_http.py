"""The `http` section: `listen` is empty (off, the default) or `host:port` (`[v6 address]:port`).

Like validate.py, the check appends "key.path: reason" and goes on. The endpoint has no
authentication (docs/http.md): any address is accepted, the log warns when it is not loopback.
"""

from __future__ import annotations

import ipaddress

from bridge.config.schema import HttpConfig


def split_listen(listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8080" -> ("127.0.0.1", 8080), "[::1]:8080" -> ("::1", 8080); ValueError otherwise."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address in brackets: {host[:40]!r}") from None
    elif ":" in host:
        raise ValueError("an IPv6 address goes in brackets: [::1]:8080")
    elif any(c.isspace() or c in "/@?#[]" for c in host):
        raise ValueError(f"not a host name or address: {host[:40]!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: reachable from this machine only."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_http(http: HttpConfig, problems: list[str]) -> None:
    if not http.listen:
        return
    try:
        split_listen(http.listen)
    except ValueError as err:
        problems.append(f"http.listen: {err}")
