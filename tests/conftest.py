import logging

import pytest

from tests.support.mqtt import Mosquitto


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~10 s (real processes, many gateways)")


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture(autouse=True)
def restore_logging():
    """The CLI configures the root logger; give every test the state it started with."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
