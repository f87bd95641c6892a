"""The exception chains `requests` raises for a network failure, built by hand, for tests that
make `responses` raise them (tests/unit/test_network_errors.py checks the real ones on loopback)."""

from __future__ import annotations

import requests
import urllib3


def connection_error(inner: BaseException, url: str = "/info") -> requests.exceptions.ConnectionError:
    """The shape requests gives a connection failure: ConnectionError(MaxRetryError(reason=inner))."""
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, url, inner))


def refused(url: str) -> requests.exceptions.ConnectionError:
    """Nobody listens at `url`'s port."""
    err = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    err.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return connection_error(err, url)


def unresolvable(host: str, url: str) -> requests.exceptions.ConnectionError:
    """`host`, in `url`, has no address."""
    return connection_error(
        urllib3.exceptions.NameResolutionError(host, None, OSError("Name or service not known")), url
    )
