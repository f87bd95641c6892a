"""bridge.gateway.probe: what answers is found, what does not is absent with its reason, a refused
token is read through (renewed) once, and a gateway that is down stops the probe."""

from __future__ import annotations

import pytest

from bridge.errors import EnvoyDataError, EnvoyHTTPError, EnvoyNotFound, EnvoyUnavailable
from bridge.gateway.probe import probe


class Gateway:
    """`read` as the worker's: answers from `answers`, or raises what is there; logs the calls."""

    def __init__(self, answers: dict[str, object]):
        self.answers, self.calls = answers, []

    def read(self, endpoint: str, probing: bool):
        self.calls.append((endpoint, probing))
        answer = self.answers[endpoint]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_found_and_absent_with_the_reason_for_each():
    gateway = Gateway({"/a": 1, "/b": EnvoyNotFound("gw /b: HTTP 404"), "/c": EnvoyDataError("/c: not JSON"), "/d": 4})
    result = probe(["/a", "/b", "/c", "/d"], gateway.read, "999")
    assert result.found == {"/a": 1, "/d": 4}
    assert result.absent == {"/b": "gw /b: HTTP 404", "/c": "/c: not JSON"}
    assert all(probing for _, probing in gateway.calls)


def test_a_token_the_first_candidates_all_refuse_is_read_through_once_then_the_probe_goes_on():
    refused = EnvoyHTTPError(401, "gw: refused for this token")
    gateway = Gateway({"/a": refused, "/b": refused, "/c": refused, "/d": 4})
    renewed = {"/a": 1, "/b": 2, "/c": 3}

    def read(endpoint, probing):
        if not probing:  # a normal read: a new session, then a renewed token let in everywhere
            gateway.answers.update(renewed)
        return gateway.read(endpoint, probing)

    result = probe(["/a", "/b", "/c", "/d"], read, "999")
    assert result.found == {"/a": 1, "/b": 2, "/c": 3, "/d": 4} and result.absent == {}
    assert gateway.calls == [
        ("/a", True),
        ("/b", True),
        ("/c", True),
        ("/c", False),
        ("/a", True),
        ("/b", True),
        ("/d", True),
    ]


def test_a_gateway_that_is_down_stops_the_probe():
    gateway = Gateway({"/a": 1, "/b": EnvoyUnavailable("gw: timed out"), "/c": 3})
    with pytest.raises(EnvoyUnavailable):
        probe(["/a", "/b", "/c"], gateway.read, "999")
    assert [ep for ep, _ in gateway.calls] == ["/a", "/b"]
