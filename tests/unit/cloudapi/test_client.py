"""The cloud source's HTTP side against `responses`: key and bearer on every call, the system id
found once by serial, refresh ahead of expiry and on an invalid access token (the rotated
refresh token stored first), an expired consent said once, 429s, a refused key stops it."""

from __future__ import annotations

import json
import logging

import pytest
import responses

from bridge.cloudapi import CloudApiPaths
from bridge.cloudapi.tokens import TokenFile
from tests.support.clock import FakeClock
from tests.unit.cloudapi.helpers import (
    API,
    KEY,
    SERIAL,
    SUMMARY,
    SYSTEM,
    TOKEN_URL,
    api_calls,
    envelope,
    query,
    saved_tokens,
    source,
    token_reply,
)

LOOKUP = f"{API}/api/v4/systems/retrieve_system_id"
SUMMARY_URL = f"{API}/api/v4/systems/{SYSTEM}/summary"
LATEST_URL = f"{API}/api/v4/systems/{SYSTEM}/latest_telemetry"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(LOOKUP, json={"system_id": SYSTEM})
        yield mock


def test_a_summary_carries_key_and_bearer_and_the_system_id_is_found_once(tmp_path, clock, rsps):
    saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, json=SUMMARY)
    cloud = source(tmp_path, clock, spread=False)
    summary = cloud.summary()
    assert summary is not None and summary.current_power_w == 755.0 and summary.energy_today_wh == 12000.0
    lookup, call = api_calls(rsps)
    assert query(lookup) == {"serial_num": SERIAL, "key": KEY}
    assert query(call) == {"key": KEY}
    assert call.request.headers["Authorization"] == "Bearer access-1-abcdefgh"
    clock.advance(1800)
    again = source(tmp_path, clock, spread=False)  # a restart: the id comes from the state file
    assert again.summary() is not None
    assert len(api_calls(rsps)) == 3 and again.status().system_id == SYSTEM
    assert again.status().usage.month == 3


def test_an_access_token_about_to_expire_is_refreshed_and_the_rotation_stored_before_use(tmp_path, clock, rsps):
    file = saved_tokens(tmp_path, clock, access_ttl=200)  # within the 5 minutes ahead
    stored_when_used = []

    def summary(request):
        stored_when_used.append(file.load().refresh_token)
        return 200, {}, json.dumps(SUMMARY)

    rsps.post(TOKEN_URL, json=token_reply(2))
    rsps.add_callback("GET", SUMMARY_URL, callback=summary)
    assert source(tmp_path, clock, system_id=SYSTEM).summary() is not None
    assert stored_when_used == ["refresh-2-abcdefgh"]
    assert api_calls(rsps)[0].request.headers["Authorization"] == "Bearer access-2-abcdefgh"


def test_an_invalid_access_token_is_refreshed_once_and_the_call_sent_again(tmp_path, clock, rsps):
    file = saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, **envelope(401, "Not Authorized", "Invalid access token"))
    rsps.get(SUMMARY_URL, json=SUMMARY)
    rsps.post(TOKEN_URL, json=token_reply(2))
    cloud = source(tmp_path, clock, system_id=SYSTEM)
    assert cloud.summary() is not None
    first, second = api_calls(rsps)
    assert first.request.headers["Authorization"] == "Bearer access-1-abcdefgh"
    assert second.request.headers["Authorization"] == "Bearer access-2-abcdefgh"
    assert file.load().refresh_token == "refresh-2-abcdefgh"
    assert cloud.status().usage.today == 2  # the retry is counted too


def test_an_expired_refresh_token_is_said_once_and_new_tokens_are_picked_up(tmp_path, clock, rsps, caplog):
    saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, json=SUMMARY)
    cloud = source(tmp_path, clock, system_id=SYSTEM)
    clock.advance(31 * 86400)
    with caplog.at_level(logging.INFO, "bridge.cloudapi"):
        assert [cloud.summary() for _ in range(3)] == [None, None, None]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cloud authorize" in errors[0].getMessage()
    assert cloud.status().needs_authorize and not rsps.calls  # nothing sent, not even a refresh
    saved_tokens(tmp_path, clock, n=5)  # `cloud authorize` run beside the bridge
    assert cloud.summary() is not None and not cloud.status().needs_authorize


def test_a_refused_refresh_token_is_said_once(tmp_path, clock, rsps, caplog):
    saved_tokens(tmp_path, clock, access_ttl=10)
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"})
    cloud = source(tmp_path, clock, system_id=SYSTEM)
    with caplog.at_level(logging.ERROR, "bridge.cloudapi"):
        assert cloud.summary() is None and cloud.summary() is None
    assert len(caplog.records) == 1 and "invalid_grant" in caplog.records[0].getMessage()
    assert len(rsps.calls) == 1  # one refresh tried, never again with the same token


def test_a_429_waits_for_the_next_minute_and_sends_nothing_before(tmp_path, clock, rsps):
    saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, **envelope(429, "Too Many Requests", "Usage limit exceeded for plan Watt", period="minute"))
    rsps.get(SUMMARY_URL, json=SUMMARY)
    cloud = source(tmp_path, clock, system_id=SYSTEM, spread=False)
    assert cloud.summary() is None
    next_minute = (clock() // 60 + 1) * 60
    assert cloud.next_call_at() == next_minute
    assert cloud.summary(urgent=True) is None and len(api_calls(rsps)) == 1  # not even urgent
    clock.now = next_minute
    assert cloud.summary() is not None


def test_a_month_429_stops_calls_until_the_first(tmp_path, clock, rsps):
    saved_tokens(tmp_path, clock)  # the clock stands at 2025-12-31 23:00 UTC
    rsps.get(SUMMARY_URL, **envelope(429, "Too Many Requests", "Usage limit exceeded for plan Watt", period="month"))
    cloud = source(tmp_path, clock, system_id=SYSTEM, spread=False)
    assert cloud.summary() is None
    assert cloud.next_call_at(urgent=True) == 1_767_225_600  # 2026-01-01 00:00 UTC


@pytest.mark.parametrize("details", ["Invalid API key", "API Key -Client mismatch"])
def test_a_refused_key_stops_the_source_with_one_error(tmp_path, clock, rsps, caplog, details):
    saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, **envelope(401, "Not Authorized", details))
    cloud = source(tmp_path, clock, system_id=SYSTEM, spread=False)
    with caplog.at_level(logging.ERROR, "bridge.cloudapi"):
        assert cloud.summary() is None and cloud.summary() is None and cloud.latest_telemetry() is None
    assert len(api_calls(rsps)) == 1
    assert len(caplog.records) == 1 and details in caplog.records[0].getMessage()
    assert cloud.stopped and "api_key" in cloud.stopped and KEY not in cloud.stopped


def test_an_endpoint_outside_the_plan_is_asked_once(tmp_path, clock, rsps, caplog):
    saved_tokens(tmp_path, clock)
    rsps.get(LATEST_URL, **envelope(403, "Forbidden", "Not authorized to access this resource"))
    rsps.get(SUMMARY_URL, json=SUMMARY)
    cloud = source(tmp_path, clock, system_id=SYSTEM, spread=False)
    assert cloud.latest_telemetry() is None and cloud.latest_telemetry() is None
    assert cloud.summary() is not None and not cloud.stopped
    assert len(api_calls(rsps)) == 2


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"current_power": NaN}', b""])
def test_an_answer_that_is_not_json_is_one_warning_and_no_crash(tmp_path, clock, rsps, caplog, body):
    saved_tokens(tmp_path, clock)
    rsps.get(SUMMARY_URL, body=body, status=200)
    cloud = source(tmp_path, clock, system_id=SYSTEM)
    with caplog.at_level(logging.WARNING, "bridge.cloudapi"):
        assert cloud.summary() is None
    assert len(caplog.records) == 1 and "summary" in caplog.records[0].getMessage()


def test_without_tokens_the_source_says_once_to_authorize_and_sends_nothing(tmp_path, clock, rsps, caplog):
    cloud = source(tmp_path, clock, system_id=SYSTEM)
    with caplog.at_level(logging.ERROR, "bridge.cloudapi"):
        assert cloud.summary() is None and cloud.summary() is None
    assert len(caplog.records) == 1 and "cloud authorize" in caplog.records[0].getMessage()
    assert not rsps.calls


def test_the_password_grant_gets_tokens_when_there_are_none(tmp_path, clock, rsps):
    rsps.post(TOKEN_URL, json=token_reply(1))
    rsps.get(SUMMARY_URL, json=SUMMARY)
    cloud = source(tmp_path, clock, system_id=SYSTEM, grant="password", username="i@example.com", password="pw-1234567")
    assert cloud.summary() is not None
    assert TokenFile(CloudApiPaths.in_dir(tmp_path / "cache").tokens).load() is not None
