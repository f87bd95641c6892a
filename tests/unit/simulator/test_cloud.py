"""The fake Enphase cloud over its real HTTPS listener: the three flows to a token, every
failure a flow can be given, sessions that expire, and the ways to choose a failure."""

from __future__ import annotations

import jwt
import pytest
import requests

from bridge.simulator import CA_FILE, Simulator
from bridge.simulator.cloudreplies import FLOWS, OTHER_SERIALS, TEXTAREA
from tests.support.clock import FakeClock

# requests lets REQUESTS_CA_BUNDLE override Session.verify, so every call passes verify=.
CA = CA_FILE
YEAR_S, TWELVE_HOURS_S = 365 * 86400, 12 * 3600
JSON_REFUSALS = {  # flows entrez_json and enlighten_get: status and JSON body
    "forbidden": (403, {"message": "Forbidden"}),
    "bad_request": (400, {"message": "Bad Request"}),
    "gone": (404, {"message": "Not Found"}),
    "sign_in": (401, {"message": "You need to sign in first"}),
}
FORM_REFUSALS = {"forbidden": 403, "bad_request": 400, "gone": 404, "sign_in": 401}  # entrez_form


@pytest.fixture
def clock():
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def sim(clock):
    with Simulator(time_func=clock) as simulator:
        yield simulator


# --- the steps of each flow, as a client takes them --------------------------------------------


def enlighten_login(sim: Simulator, http: requests.Session, password: str | None = None) -> requests.Response:
    form = {"user[email]": sim.cloud_user, "user[password]": password or sim.cloud_password}
    return http.post(sim.cloud_url + "/login/login.json", data=form, verify=CA, timeout=5)


def entrez_login(sim: Simulator, http: requests.Session, password: str | None = None) -> requests.Response:
    form = {"username": sim.cloud_user, "password": password or sim.cloud_password}
    return http.post(sim.cloud_url + "/login", data=form, verify=CA, timeout=5)


def token_step(sim: Simulator, flow: str, http: requests.Session, session_id: str = "", serial: str | None = None):
    """The flow's second request, with the session the client holds (the cookie jar or `session_id`)."""
    serial = sim.serial if serial is None else serial
    if flow == "entrez_json":
        body = {"session_id": session_id, "serial_num": serial, "username": sim.cloud_user}
        return http.post(sim.cloud_url + "/tokens", json=body, verify=CA, timeout=5)
    if flow == "enlighten_get":
        return http.get(sim.cloud_url + "/entrez-auth-token", params={"serial_num": serial}, verify=CA, timeout=5)
    return http.post(sim.cloud_url + "/entrez_tokens", data={"serialNum": serial}, verify=CA, timeout=5)


def fetch(sim: Simulator, flow: str, serial: str | None = None) -> requests.Response:
    """Log in the flow's way, then ask for a token: the token step's answer."""
    http = requests.Session()
    login = entrez_login(sim, http) if flow == "entrez_form" else enlighten_login(sim, http)
    assert login.status_code == 200
    session_id = login.json()["session_id"] if flow == "entrez_json" else ""
    return token_step(sim, flow, http, session_id, serial)


def token_of(flow: str, reply: requests.Response) -> str:
    """The token where the flow puts it: the text, a JSON field, the textarea."""
    assert reply.status_code == 200
    if flow == "entrez_json":
        assert reply.headers["Content-Type"] == "text/plain"
        return reply.text
    if flow == "enlighten_get":
        return reply.json()["token"]
    return reply.text.split(TEXTAREA, 1)[1].split("</textarea>", 1)[0]


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def gateway_accepts(sim: Simulator, token: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(sim.envoy_url + "/auth/check_jwt", headers=headers, verify=CA, timeout=5).status_code == 200


# --- the three flows ---------------------------------------------------------------------------


def test_the_enlighten_login_answers_a_session_id_and_its_cookie(sim):
    http = requests.Session()
    reply = enlighten_login(sim, http)
    body = reply.json()
    assert reply.status_code == 200 and body["message"] == "success" and body["is_consumer"] is True
    assert len(body["session_id"]) == 32 and int(body["session_id"], 16) >= 0
    assert http.cookies["_enlighten_4_session"] == body["session_id"]


def test_the_entrez_form_login_sets_a_session_cookie(sim):
    http = requests.Session()
    reply = entrez_login(sim, http)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/html")
    assert len(http.cookies["SESSION"]) == 48 and "session_id" not in reply.text


@pytest.mark.parametrize("flow", FLOWS)
def test_every_flow_gives_an_owner_token_for_a_year_that_the_gateway_accepts(sim, clock, flow):
    token = token_of(flow, fetch(sim, flow))
    got = claims(token)
    assert got["aud"] == sim.serial and got["iss"] == "Entrez" and got["enphaseUser"] == "owner"
    assert got["username"] == sim.cloud_user and got["iat"] == int(clock.now)
    assert got["exp"] - got["iat"] == YEAR_S
    assert gateway_accepts(sim, token)
    assert sim.cloud_counts["tokens_issued"] == 1 and sim.cloud_counts[f"{flow}_issued"] == 1


def test_enlighten_get_says_when_its_token_was_made_and_when_it_ends(sim):
    body = fetch(sim, "enlighten_get").json()
    assert set(body) == {"generation_time", "token", "expires_at"}
    got = claims(body["token"])
    assert (body["generation_time"], body["expires_at"]) == (got["iat"], got["exp"])


def test_the_counters_tell_which_flows_were_tried(sim):
    fetch(sim, "entrez_json")
    fetch(sim, "enlighten_get")
    fetch(sim, "entrez_form")
    assert sim.cloud_counts == {
        "login": 2,  # login.json serves entrez_json and enlighten_get
        "login_ok": 2,
        "tokens": 1,
        "entrez_auth_token": 1,
        "entrez_login": 1,
        "entrez_login_ok": 1,
        "entrez_tokens": 1,
        "tokens_issued": 3,
        "entrez_json_issued": 1,
        "enlighten_get_issued": 1,
        "entrez_form_issued": 1,
    }


@pytest.mark.parametrize("flow", FLOWS)
def test_without_a_session_every_flow_asks_to_sign_in(sim, flow):
    reply = token_step(sim, flow, requests.Session(), session_id="0" * 32)
    assert reply.status_code == 401 and "You need to sign in first" in reply.text
    assert sim.cloud_counts.get("tokens_issued", 0) == 0


def test_wrong_credentials_are_refused_by_both_logins(sim):
    http = requests.Session()
    assert enlighten_login(sim, http, "wrong").status_code == 401
    assert enlighten_login(sim, http, "wrong").json() == {"message": "Invalid"}
    assert entrez_login(sim, http, "wrong").status_code == 401
    assert not http.cookies and sim.cloud_counts == {"login": 2, "entrez_login": 1}


def test_a_session_of_one_site_does_not_open_the_other(sim):
    http = requests.Session()
    entrez_login(sim, http)
    http.cookies.set("_enlighten_4_session", http.cookies["SESSION"])  # an Entrez session at Enlighten
    assert token_step(sim, "enlighten_get", http).status_code == 401


def test_the_token_step_needs_a_serial(sim):
    http = requests.Session()
    session_id = enlighten_login(sim, http).json()["session_id"]
    assert token_step(sim, "entrez_json", http, session_id, serial="").status_code == 400
    assert token_step(sim, "enlighten_get", http, serial="").status_code == 500
    entrez_login(sim, http)
    assert f"{TEXTAREA}Error: Invalid serial number()" in token_step(sim, "entrez_form", http, serial="").text


def test_unknown_paths_and_methods_are_not_found(sim):
    assert requests.get(sim.cloud_url + "/tokens", verify=CA, timeout=5).status_code == 404
    assert requests.get(sim.cloud_url + "/elsewhere", verify=CA, timeout=5).json() == {"message": "Not Found"}


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["entrez_json", "enlighten_get"])
@pytest.mark.parametrize("failure", sorted(JSON_REFUSALS))
def test_json_flows_refuse_with_the_status_and_message_asked_for(sim, flow, failure):
    sim.cloud_fail(flow, failure)
    reply = fetch(sim, flow)  # a good session changes nothing
    status, body = JSON_REFUSALS[failure]
    assert (reply.status_code, reply.json()) == (status, body)
    assert sim.cloud_counts["login_ok"] == 1 and "tokens_issued" not in sim.cloud_counts


@pytest.mark.parametrize("flow", ["entrez_json", "enlighten_get"])
def test_json_flows_invalid_serial_is_a_500_naming_the_serial(sim, flow):
    sim.cloud_fail(flow, "invalid_serial")
    reply = fetch(sim, flow, serial="999000000077")
    assert reply.status_code == 500 and reply.json() == {"message": "Invalid serial number(999000000077)"}


@pytest.mark.parametrize("failure", sorted(FORM_REFUSALS))
def test_the_entrez_form_refuses_with_an_html_page_and_no_token(sim, failure):
    sim.cloud_fail("entrez_form", failure)
    reply = fetch(sim, "entrez_form")
    assert reply.status_code == FORM_REFUSALS[failure] and "textarea" not in reply.text
    assert "tokens_issued" not in sim.cloud_counts


def test_the_entrez_form_says_error_in_the_textarea_for_a_serial_not_on_the_account(sim):
    sim.cloud_fail("entrez_form", "invalid_serial")
    reply = fetch(sim, "entrez_form", serial="999000000077")
    assert reply.status_code == 200
    assert token_of("entrez_form", reply) == "Error: Invalid serial number(999000000077)"


@pytest.mark.parametrize("flow", FLOWS)
def test_html_is_an_error_page_with_status_200_in_place_of_the_token(sim, flow):
    sim.cloud_fail(flow, "html")
    reply = fetch(sim, flow)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/html")
    assert reply.text.startswith("<!DOCTYPE html>") and "textarea" not in reply.text
    assert "tokens_issued" not in sim.cloud_counts


def test_the_enlighten_login_asks_for_a_code_in_both_of_its_flows(sim):
    sim.cloud_fail("enlighten_get", "mfa")
    for _ in range(2):  # entrez_json's client and enlighten_get's see the same login
        http = requests.Session()
        reply = enlighten_login(sim, http)
        assert reply.status_code == 200 and reply.json() == {"success": True, "isBlocked": False}
        assert "login_otp_nonce" in http.cookies and "_enlighten_4_session" not in http.cookies
    assert token_of("entrez_form", fetch(sim, "entrez_form"))  # Entrez's own login has no MFA
    assert "login_ok" not in sim.cloud_counts


def test_the_entrez_form_login_asks_for_a_verification_code(sim):
    sim.cloud_fail("entrez_form", "mfa")
    http = requests.Session()
    reply = entrez_login(sim, http)
    assert reply.status_code == 200 and "verification code" in reply.text and not http.cookies
    assert token_step(sim, "entrez_form", http).status_code == 401
    assert token_of("entrez_json", fetch(sim, "entrez_json"))


@pytest.mark.parametrize("flow", FLOWS)
def test_wrong_serial_is_a_good_token_for_another_gateway(sim, flow):
    sim.cloud_fail(flow, "wrong_serial")
    token = token_of(flow, fetch(sim, flow))
    assert claims(token)["aud"] == OTHER_SERIALS[0] and not gateway_accepts(sim, token)
    assert claims(token_of(flow, fetch(sim, flow, serial=OTHER_SERIALS[0])))["aud"] == OTHER_SERIALS[1]


@pytest.mark.parametrize("flow", FLOWS)
def test_installer_is_a_twelve_hour_installer_token(sim, flow):
    sim.cloud_fail(flow, "installer")
    reply = fetch(sim, flow)
    got = claims(token_of(flow, reply))
    assert got["enphaseUser"] == "installer" and got["exp"] - got["iat"] == TWELVE_HOURS_S
    if flow == "enlighten_get":
        assert reply.json()["expires_at"] - reply.json()["generation_time"] == TWELVE_HOURS_S


def test_tokens_gone_while_entrez_tokens_works(sim):
    sim.cloud_fail("entrez_json", "gone")
    assert fetch(sim, "entrez_json").status_code == 404
    assert gateway_accepts(sim, token_of("entrez_form", fetch(sim, "entrez_form")))
    counts = sim.cloud_counts
    assert counts["tokens"] == counts["entrez_tokens"] == 1 and counts["tokens_issued"] == 1


def test_failures_are_per_flow_and_heal_one_or_all(sim):
    sim.cloud_fail("entrez_json", "forbidden")
    sim.cloud_fail("entrez_form", "gone")
    sim.cloud_fail("entrez_form", "sign_in")  # replaces the flow's previous failure
    assert sim.cloud.failures == {"entrez_json": "forbidden", "entrez_form": "sign_in"}
    assert fetch(sim, "enlighten_get").status_code == 200
    sim.cloud_heal("entrez_json")
    assert fetch(sim, "entrez_json").status_code == 200 and fetch(sim, "entrez_form").status_code == 401
    sim.cloud_heal()
    assert sim.cloud.failures == {} and fetch(sim, "entrez_form").status_code == 200


def test_unknown_flows_and_failures_are_refused(sim):
    with pytest.raises(ValueError, match="cloud flow must be one of entrez_json, enlighten_get, entrez_form"):
        sim.cloud_fail("carrier_pigeon", "gone")
    with pytest.raises(ValueError, match="cloud failure must be one of forbidden, bad_request"):
        sim.cloud_fail("entrez_json", "meteor")
    with pytest.raises(ValueError, match="cloud flow must be"):
        sim.cloud_heal("carrier_pigeon")
    assert sim.cloud.failures == {}


def test_global_modes_reach_every_path(sim):
    sim.cloud_mode = "down"
    for flow in FLOWS:
        assert token_step(sim, flow, requests.Session()).status_code == 503
    assert entrez_login(sim, requests.Session()).status_code == 503
    sim.cloud_mode = "bad_password"
    assert entrez_login(sim, requests.Session()).status_code == 401
    assert enlighten_login(sim, requests.Session()).status_code == 401
    sim.cloud_mode = "mfa"
    assert "verification code" in entrez_login(sim, requests.Session()).text
    assert enlighten_login(sim, requests.Session()).json() == {"success": True, "isBlocked": False}
    sim.cloud_mode = "ok"
    assert all(fetch(sim, flow).status_code == 200 for flow in FLOWS)


# --- sessions ----------------------------------------------------------------------------------


def sessions_of_every_flow(sim: Simulator) -> tuple[requests.Session, str, requests.Session]:
    """An Enlighten session (cookie jar and session_id) and an Entrez form session."""
    enlighten, entrez = requests.Session(), requests.Session()
    session_id = enlighten_login(sim, enlighten).json()["session_id"]
    entrez_login(sim, entrez)
    return enlighten, session_id, entrez


def tokens_with(sim: Simulator, enlighten: requests.Session, session_id: str, entrez: requests.Session) -> list[int]:
    return [
        token_step(sim, "entrez_json", enlighten, session_id).status_code,
        token_step(sim, "enlighten_get", enlighten).status_code,
        token_step(sim, "entrez_form", entrez).status_code,
    ]


def test_sessions_live_while_used_and_expire_when_idle(sim, clock):
    held = sessions_of_every_flow(sim)
    clock.now += 590
    assert tokens_with(sim, *held) == [200, 200, 200]
    clock.now += 590  # 20 minutes since the logins, but used 10 minutes ago
    assert tokens_with(sim, *held) == [200, 200, 200]
    clock.now += 601
    assert tokens_with(sim, *held) == [401, 401, 401]


def test_forget_sessions_ends_every_flows_session(sim):
    held = sessions_of_every_flow(sim)
    sim.cloud.forget_sessions()
    assert tokens_with(sim, *held) == [401, 401, 401]
    assert tokens_with(sim, *sessions_of_every_flow(sim)) == [200, 200, 200]


# --- choosing failures: scenario, event, schedule ---------------------------------------------------


def test_a_scenario_starts_the_cloud_with_its_failures(tmp_path, clock):
    path = tmp_path / "picky.yaml"
    path.write_text("cloud:\n  mode: ok\n  failures: {entrez_json: gone, enlighten_get: sign_in}\n")
    with Simulator(scenario=path, time_func=clock) as sim:
        assert [fetch(sim, flow).status_code for flow in FLOWS] == [404, 401, 200]


def test_a_scenario_can_start_the_cloud_down(tmp_path, clock):
    path = tmp_path / "offline.yaml"
    path.write_text("cloud: {mode: down}\n")
    with Simulator(scenario=path, time_func=clock) as sim:
        assert enlighten_login(sim, requests.Session()).status_code == 503


def test_an_event_fails_a_flow_and_another_heals_it(sim):
    sim.trigger("cloud_fail", flow="enlighten_get", failure="invalid_serial")
    assert fetch(sim, "enlighten_get").status_code == 500
    sim.schedule("cloud_fail:flow=entrez_json:failure=forbidden")  # the spec syntax, at once
    assert fetch(sim, "entrez_json").status_code == 403
    sim.trigger("cloud_heal", flow="enlighten_get")
    assert fetch(sim, "enlighten_get").status_code == 200 and fetch(sim, "entrez_json").status_code == 403
    sim.trigger("cloud_heal")
    assert fetch(sim, "entrez_json").status_code == 200
    assert [name for _, name in sim.director.history] == ["cloud_fail", "cloud_fail", "cloud_heal", "cloud_heal"]


def test_scheduled_cloud_events_fire_on_time(sim, clock):
    sim.schedule("cloud_fail:flow=entrez_form:failure=bad_request@+30s,cloud_heal:flow=entrez_form@+90s")
    assert fetch(sim, "entrez_form").status_code == 200
    clock.now += 31
    sim.tick()
    assert fetch(sim, "entrez_form").status_code == 400
    clock.now += 60
    sim.tick()
    assert fetch(sim, "entrez_form").status_code == 200
