"""The real Home Assistant tests run on every supported release: the oldest and the newest;
`system` starts the simulator, the bridge and Home Assistant for them."""

from pathlib import Path

import pytest

from bridge.simulator import Simulator
from tests.support.homeassistant import VERSIONS, HomeAssistant, install
from tests.support.mqtt import Subscriber
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 5, "grid": 1}


@pytest.fixture(params=VERSIONS, ids=[f"ha{version}" for version in VERSIONS])
def home_assistant_venv(request: pytest.FixtureRequest) -> Path:
    """The cached virtual environment of one Home Assistant release."""
    return install(request.param)


@pytest.fixture
def system(request, tmp_path, mosquitto, home_assistant_venv):
    """(simulator, bridge process, Home Assistant, live subscriber), all running, on the scenario
    and with the `controls:` section the test names with
    `@pytest.mark.parametrize("system", [(scenario, controls)], indirect=True)`."""
    scenario, controls = getattr(request, "param", ("three_phase_battery", None))
    with Simulator(scenario=scenario, time_factor=1, start="11:00") as sim:
        config = write_config(tmp_path, sim, mosquitto, poll=POLL, controls=controls)
        bridge = start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#", "homeassistant/#"))
        ha = HomeAssistant(home_assistant_venv, tmp_path / "ha", mosquitto.port)
        try:
            sub.wait_topic(f"envoy/{sim.serial}/availability", timeout=60, payload=b"online")
            ha.start()
            yield sim, bridge, ha, sub
        finally:
            ha.stop()
            sub.close()
            stop_process(bridge)
            if bridge.returncode not in (0, -15, None):
                print((tmp_path / "bridge.log").read_text()[-3000:])
