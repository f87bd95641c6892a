"""Fixtures of the unit tests of more than one sub-package."""

from __future__ import annotations

import pytest
import responses


@pytest.fixture
def rsps():
    """A scripted HTTP layer (`responses`): the gateway's and the cloud's answers, set per test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
