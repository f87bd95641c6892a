"""The fake Enlighten API v4 over its real HTTPS listener, as a client uses it: consent, code,
tokens, then data that agree with the living scenario's own counters; the quota, expiring tokens,
and a gateway that goes dark. Time is a fake clock moved by hand."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bridge.simulator import CA_FILE, Simulator
from tests.support.clock import FakeClock

START = 1_800_000_000.0  # 2027-01-15 08:00 UTC
REDIRECT = "https://localhost/callback"
HOUR = 3600


class Client:
    """What a v4 client does, step by step, with requests."""

    def __init__(self, sim: Simulator):
        assert sim.cloud_api is not None
        self.sim, self.api, self.url = sim, sim.cloud_api, sim.cloud_api_url
        self.access, self.refresh = "", ""

    def authorize(self) -> str:
        params = {"response_type": "code", "client_id": self.api.client_id, "redirect_uri": REDIRECT, "state": "st"}
        answer = requests.get(
            self.url + "/oauth/authorize", params=params, verify=CA_FILE, allow_redirects=False, timeout=5
        )
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["state"] == ["st"]
        return query["code"][0]

    def token(self, **params: str) -> requests.Response:
        answer = requests.post(
            self.url + "/oauth/token",
            params=params,
            auth=(self.api.client_id, self.api.client_secret),
            verify=CA_FILE,
            timeout=5,
        )
        if answer.status_code == 200:
            self.access, self.refresh = answer.json()["access_token"], answer.json()["refresh_token"]
        return answer

    def sign_in(self) -> None:
        code = self.authorize()
        assert self.token(grant_type="authorization_code", redirect_uri=REDIRECT, code=code).status_code == 200

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v4/systems{path}",
            params={"key": self.api.api_key, **params},
            headers={"Authorization": f"Bearer {self.access}"},
            verify=CA_FILE,
            timeout=5,
        )


@pytest.fixture
def clock():
    return FakeClock(START)


def living(clock: FakeClock, scenario: str = "three_phase_battery") -> Simulator:
    return Simulator(scenario=scenario, time_func=clock, start="12:00", timezone="UTC", cloud_api=True)


def test_consent_then_a_summary_that_agrees_with_the_scenario(clock):
    with living(clock) as sim:
        client = Client(sim)
        client.sign_in()
        system_id = client.get("/retrieve_system_id", serial_num=sim.serial).json()["system_id"]
        noon = sim.energy_totals()
        clock.advance(10 * 60)  # 12:10: the cloud is at 12:00
        summary = client.get(f"/{system_id}/summary")
        assert summary.status_code == 200
        body = summary.json()
        assert body["energy_lifetime"] + body["energy_today"] == round(noon["production"])
        assert body["last_report_at"] == int(sim.sim_time) - 10 * 60 and body["status"] == "normal"
        assert sim.cloud_api.calls[f"/api/v4/systems/{system_id}/summary"] == 1
        assert sim.cloud_api.month_calls == 2


def test_telemetry_adds_up_to_the_scenario_s_energy_over_the_window(clock):
    with living(clock) as sim:
        client = Client(sim)
        client.sign_in()
        sim.cloud_api.plan = "kilowatt"  # battery telemetry is not on the Watt plan
        start, before = int(sim.sim_time), sim.energy_totals()
        clock.advance(3 * HOUR)
        after = sim.energy_totals()
        clock.advance(5 * 60)
        system = f"/{sim.cloud_api.system_id}/telemetry"
        production = client.get(f"{system}/production_meter", start_at=str(start), granularity="day").json()
        consumption = client.get(f"{system}/consumption_meter", start_at=str(start)).json()
        battery = client.get(f"{system}/battery", start_at=str(start)).json()
        assert len(production["intervals"]) == 12 and production["end_at"] == start + 3 * HOUR
        sums = {
            "production": sum(i["wh_del"] for i in production["intervals"]),
            "consumption": sum(i["enwh"] for i in consumption["intervals"]),
            "charged": sum(i["charge"]["enwh"] for i in battery["intervals"]),
            "discharged": sum(i["discharge"]["enwh"] for i in battery["intervals"]),
        }
        for name, wh in sums.items():
            assert abs(wh - (after[name] - before[name])) <= 1, name  # rounded counters at both ends
        assert consumption["meta"]["status"] == "normal"


def test_ten_calls_a_minute_then_429_without_retry_after(clock):
    with living(clock) as sim:
        client = Client(sim)
        client.sign_in()
        statuses = [client.get("").status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        refused = client.get("")
        assert "Retry-After" not in refused.headers
        body = refused.json()
        assert (body["details"], body["period"], body["limit"]) == ("Usage limit exceeded for plan Watt", "minute", 10)
        assert sim.cloud_api.month_calls == 10 and sim.cloud_api.refusals == {"minute": 2}
        clock.advance(60)
        assert client.get("").status_code == 200


def test_an_expired_access_token_is_renewed_and_the_old_refresh_token_is_spent(clock):
    with living(clock) as sim:
        client = Client(sim)
        client.sign_in()
        clock.advance(86393)
        expired = client.get("")
        assert expired.status_code == 401 and expired.json()["details"] == "Invalid access token"
        spent = client.refresh
        assert client.token(grant_type="refresh_token", refresh_token=spent).status_code == 200
        assert client.get("").status_code == 200
        again = client.token(grant_type="refresh_token", refresh_token=spent)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        sim.cloud_api.expire_refresh_tokens()
        assert client.token(grant_type="refresh_token", refresh_token=client.refresh).status_code == 400


def test_a_dark_gateway_is_comm_and_its_last_report_stands_still(clock):
    with living(clock, "metered") as sim:  # no batteries: the grid outage takes the gateway down
        client = Client(sim)
        client.sign_in()
        clock.advance(20 * 60)
        sim.trigger("grid_outage")
        clock.advance(HOUR)
        summary = client.get(f"/{sim.cloud_api.system_id}/summary").json()
        assert summary["status"] == "comm" and summary["last_report_at"] == int(sim.sim_time) - HOUR - 5 * 60
        sim.trigger("grid_restore")
        summary = client.get(f"/{sim.cloud_api.system_id}/summary").json()
        assert summary["status"] == "normal" and summary["last_report_at"] == int(sim.sim_time) - 5 * 60


def test_the_cloud_api_is_served_only_when_asked_for(clock):
    with Simulator(scenario="metered", time_func=clock) as sim:
        assert sim.cloud_api is None
        with pytest.raises(ValueError, match="cloud API is off"):
            _ = sim.cloud_api_url
    with pytest.raises(ValueError, match="needs a living scenario"):
        Simulator(time_func=clock, cloud_api=True)
