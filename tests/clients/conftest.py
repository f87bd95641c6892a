"""The real Home Assistant tests run on every supported release: the oldest and the newest."""

from pathlib import Path

import pytest

from tests.support.homeassistant import VERSIONS, install


@pytest.fixture(params=VERSIONS, ids=[f"ha{version}" for version in VERSIONS])
def home_assistant_venv(request: pytest.FixtureRequest) -> Path:
    """The cached virtual environment of one Home Assistant release."""
    return install(request.param)
