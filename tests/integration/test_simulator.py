"""The simulated Envoy and Enphase cloud, over real HTTPS on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
from requests.auth import HTTPDigestAuth

from bridge.model import parse_info
from bridge.simulator import CA_FILE, DEFAULT_CAPTURE, Simulator
from tests.support.clock import FakeClock
from tests.support.mqtt import wait_for

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO.parent / "shared" / "fixtures" / "envoy"
needs_captures = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"captures not found at {CAPTURES}")

# requests lets REQUESTS_CA_BUNDLE override Session.verify, so every call passes verify=.
CA = CA_FILE


def get(sim: Simulator, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs.setdefault("timeout", 5)
    return requests.get(sim.envoy_url + path, headers=headers, verify=CA, **kwargs)


def login(sim: Simulator, password: str | None = None) -> requests.Response:
    form = {"user[email]": sim.cloud_user, "user[password]": password or sim.cloud_password}
    return requests.post(sim.cloud_url + "/login/login.json", data=form, verify=CA, timeout=5)


@pytest.fixture
def clock():
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def sim(clock):
    with Simulator(time_func=clock) as simulator:
        yield simulator


# --- capture serving ----------------------------------------------------------------------


@needs_captures
def test_serves_capture_bodies_with_recorded_status_and_type():
    folder = CAPTURES / "3.9.36_bad_auth"
    with Simulator(folder, auth="none") as sim:
        ok = get(sim, "/api/v1/production")
        assert ok.status_code == 200
        assert ok.content == (folder / "api_v1_production").read_bytes()
        tariff = get(sim, "/admin/lib/tariff")
        assert tariff.status_code == 401  # recorded by the real gateway
        assert tariff.headers["Content-Type"] == "text/plain"
        html = get(sim, "/production.json")
        assert html.headers["Content-Type"] == "text/html"


@needs_captures
def test_recorded_404_and_missing_files():
    with Simulator(CAPTURES / "5.0.62", auth="none") as sim:
        recorded = get(sim, "/ivp/sc/pvlimit")
        assert recorded.status_code == 404
        assert recorded.content == (CAPTURES / "5.0.62" / "ivp_sc_pvlimit").read_bytes()
        assert get(sim, "/ivp/pdm/device_data").status_code == 404  # no such file


@needs_captures
def test_details_query_prefers_its_own_file():
    folder = CAPTURES / "8.3.5289_modGone"
    with Simulator(folder, auth="none") as sim:
        details = get(sim, "/production.json", params={"details": "1"})
        plain = get(sim, "/production.json")
        assert details.content == (folder / "production.json_details_1").read_bytes()
        assert plain.content == (folder / "production.json").read_bytes()
    with Simulator(CAPTURES / "8.3.5169_ACB_inventory", auth="none") as sim:
        inventory = get(sim, "/inventory.json?deleted=1")
        assert inventory.content == (CAPTURES / "8.3.5169_ACB_inventory" / "inventory.json_deleted_1").read_bytes()
    with Simulator(CAPTURES / "7.6.175_standard", auth="none") as sim:  # no details file: fall back
        assert (
            get(sim, "/production.json?details=1").content
            == (CAPTURES / "7.6.175_standard" / "production.json").read_bytes()
        )


@needs_captures
def test_old_firmware_info_announces_web_tokens_in_token_mode():
    folder = CAPTURES / "3.7.0"
    assert b"web-tokens" not in (folder / "info").read_bytes()
    with Simulator(folder) as sim:
        info = parse_info(get(sim, "/info").content)
    assert info.web_tokens and info.uses_token_auth
    assert info.serial == sim.serial == "121430030548"


def test_serial_override_is_served_in_info():
    with Simulator(serial="999000000777") as sim:
        assert parse_info(get(sim, "/info").content).serial == "999000000777"


# --- token authentication -----------------------------------------------------------------


def test_info_needs_no_auth_but_data_does(sim):
    info = get(sim, "/info")
    assert info.status_code == 200
    assert info.headers["Content-Type"] == "text/xml"
    assert parse_info(info.content).serial == "999000000001"
    assert get(sim, "/ivp/meters/readings").status_code == 401
    assert get(sim, "/auth/check_jwt").status_code == 401


def test_check_jwt_gives_a_session_cookie_that_works_alone(sim):
    token = sim.issue_token()
    checked = get(sim, "/auth/check_jwt", token)
    assert checked.status_code == 200
    assert checked.text == "<!DOCTYPE html><h2>Valid token.</h2>"
    cookie = checked.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "Path=/" in cookie
    sim.reset_counts()
    data = get(sim, "/ivp/meters/readings", cookies={"sessionId": checked.cookies["sessionId"]})
    assert data.status_code == 200 and isinstance(data.json(), list)
    assert sim.auth_counts == {"cookie": 1}
    assert sim.request_counts == {"/ivp/meters/readings": 1}


def test_bearer_token_works_without_a_session(sim):
    assert get(sim, "/api/v1/production", sim.issue_token()).status_code == 200
    assert sim.auth_counts == {"bearer": 1}


def test_token_claims_look_like_entrez_ones(sim, clock):
    claims = jwt.decode(sim.issue_token(), options={"verify_signature": False})
    assert claims["aud"] == sim.serial and claims["iss"] == "Entrez"
    assert claims["enphaseUser"] == "owner" and claims["username"] == sim.cloud_user
    assert claims["iat"] == int(clock.now) and claims["exp"] == int(clock.now) + 365 * 86400
    assert claims["jti"]
    installer = jwt.decode(sim.issue_token("installer"), options={"verify_signature": False})
    assert installer["exp"] - installer["iat"] == 12 * 3600


@pytest.mark.parametrize("case", ["expired", "wrong_serial", "revoked", "malformed", "foreign_key"])
def test_bad_tokens_are_refused(sim, clock, case):
    token = {
        "expired": lambda: sim.issue_token(lifetime_s=60),
        "wrong_serial": lambda: sim.issue_token(serial="123456789012"),
        "revoked": lambda: sim.issue_token(),
        "malformed": lambda: "eyJnot.a.jwt",
        "foreign_key": lambda: jwt.encode(
            {"aud": sim.serial, "iss": "Entrez", "exp": clock.now + 999, "iat": clock.now, "jti": "x"},
            "another-secret-of-at-least-32-bytes!",
        ),
    }[case]()
    if case == "expired":
        assert get(sim, "/api/v1/production", token).status_code == 200
        clock.now += 61
    if case == "revoked":
        sim.revoke_token(token)
    assert get(sim, "/api/v1/production", token).status_code == 401
    assert get(sim, "/auth/check_jwt", token).status_code == 401


def test_revoke_all_tokens_spares_later_ones(sim):
    old = sim.issue_token()
    sim.revoke_token()
    new = sim.issue_token()
    assert get(sim, "/api/v1/production", old).status_code == 401
    assert get(sim, "/api/v1/production", new).status_code == 200


def test_sessions_can_be_revoked_and_expire_when_idle(sim, clock):
    def session():
        return get(sim, "/auth/check_jwt", sim.issue_token()).cookies["sessionId"]

    first = session()
    sim.revoke_sessions()
    assert get(sim, "/api/v1/production", cookies={"sessionId": first}).status_code == 401
    second = session()
    clock.now += 500
    assert get(sim, "/api/v1/production", cookies={"sessionId": second}).status_code == 200
    clock.now += 601  # idle for more than 10 minutes
    assert get(sim, "/api/v1/production", cookies={"sessionId": second}).status_code == 401


# --- the cloud ----------------------------------------------------------------------------


def test_cloud_login_and_token_round_trip(sim):
    reply = login(sim)
    assert reply.status_code == 200
    body = reply.json()
    assert body["message"] == "success" and body["is_consumer"] is True
    assert len(body["session_id"]) == 32 and int(body["session_id"], 16) >= 0
    issued = requests.post(
        sim.cloud_url + "/tokens",
        verify=CA,
        timeout=5,
        json={"session_id": body["session_id"], "serial_num": sim.serial, "username": sim.cloud_user},
    )
    assert issued.status_code == 200
    token = issued.text
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == sim.serial
    assert get(sim, "/auth/check_jwt", token).status_code == 200
    assert sim.cloud_counts == {"login": 1, "login_ok": 1, "tokens": 1, "tokens_issued": 1, "entrez_json_issued": 1}


def test_cloud_refuses_unknown_sessions(sim):
    refused = requests.post(
        sim.cloud_url + "/tokens",
        verify=CA,
        timeout=5,
        json={"session_id": "0" * 32, "serial_num": sim.serial, "username": sim.cloud_user},
    )
    assert refused.status_code == 401


def test_cloud_modes(sim):
    assert login(sim, password="wrong").status_code == 401
    sim.cloud_mode = "bad_password"
    assert login(sim).status_code == 401
    sim.cloud_mode = "mfa"
    mfa = login(sim)
    assert mfa.status_code == 200 and mfa.json() == {"success": True, "isBlocked": False}
    assert "login_otp_nonce" in mfa.cookies
    sim.cloud_mode = "down"
    assert login(sim).status_code == 503
    sim.cloud_mode = "ok"
    assert "session_id" in login(sim).json()
    with pytest.raises(ValueError, match="cloud mode must be one of ok, bad_password"):
        sim.cloud_mode = "sideways"


def test_cloud_hang_times_out_the_client(sim):
    sim.cloud_mode = "hang"
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(sim.cloud_url + "/login/login.json", data={}, verify=CA, timeout=0.3)
    assert time.monotonic() - started < 3


def test_installer_cloud_tokens_last_twelve_hours(clock):
    with Simulator(time_func=clock, cloud_user_type="installer") as sim:
        session_id = login(sim).json()["session_id"]
        token = requests.post(
            sim.cloud_url + "/tokens",
            verify=CA,
            timeout=5,
            json={"session_id": session_id, "serial_num": sim.serial, "username": sim.cloud_user},
        ).text
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["enphaseUser"] == "installer" and claims["exp"] - claims["iat"] == 12 * 3600


# --- digest and open modes ----------------------------------------------------------------


def test_digest_mode_like_old_firmware():
    with Simulator(auth="digest", installer_password="secret-installer") as sim:
        url = sim.envoy_url + "/api/v1/production"
        challenge = requests.get(url, verify=CA, timeout=5)
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"].startswith("Digest ")
        owner = HTTPDigestAuth("envoy", sim.serial[-6:])
        assert requests.get(url, auth=owner, verify=CA, timeout=5).status_code == 200
        installer = HTTPDigestAuth("installer", "secret-installer")
        assert requests.get(url, auth=installer, verify=CA, timeout=5).status_code == 200
        wrong = HTTPDigestAuth("envoy", "000000")
        assert requests.get(url, auth=wrong, verify=CA, timeout=5).status_code == 401
        assert get(sim, "/api/v1/production", sim.issue_token()).status_code == 401
        assert get(sim, "/auth/check_jwt", sim.issue_token()).status_code == 404
        assert b"<web-tokens>false</web-tokens>" in get(sim, "/info").content


def test_auth_none_serves_everything():
    with Simulator(auth="none") as sim:
        assert get(sim, "/ivp/meters").status_code == 200
    with pytest.raises(ValueError, match="auth must be one of token, digest, none, not 'basic'"):
        Simulator(auth="basic")


# --- fault hooks --------------------------------------------------------------------------


def test_fail_next_answers_a_status_for_matching_paths(sim):
    token = sim.issue_token()
    sim.fail_next(503, count=2, path="/ivp/meters/*")
    assert get(sim, "/api/v1/production", token).status_code == 200
    assert get(sim, "/ivp/meters/readings", token).status_code == 503
    assert get(sim, "/ivp/meters/readings", token).status_code == 503
    assert get(sim, "/ivp/meters/readings", token).status_code == 200
    sim.fail_next(401)
    assert get(sim, "/info").status_code == 401
    assert get(sim, "/info").status_code == 200


def test_delay_and_hang(sim):
    token = sim.issue_token()
    sim.delay_next(0.3)
    started = time.monotonic()
    assert get(sim, "/api/v1/production", token).status_code == 200
    assert time.monotonic() - started >= 0.3
    sim.hang_next(10)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sim, "/api/v1/production", token, timeout=0.3)
    assert get(sim, "/api/v1/production", token).status_code == 200
    sim.hang_next(0.1)  # a short hang: the gateway closes the connection without a word
    with pytest.raises(requests.exceptions.ConnectionError):
        get(sim, "/api/v1/production", token)
    sim.delay_next(1, count=5)
    sim.clear_faults()
    assert sim.faults.pending == 0


def test_stop_and_start_the_envoy_listener(sim):
    port = sim.envoy_port
    session = requests.Session()  # a kept-alive connection must not survive the stop
    assert session.get(sim.envoy_url + "/info", verify=CA, timeout=5).status_code == 200
    sim.stop_envoy()
    assert not sim.envoy_running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sim.envoy_url + "/info", verify=CA, timeout=2)
    assert login(sim).status_code == 200  # the cloud is separate
    sim.start_envoy()
    assert sim.envoy_port == port
    assert session.get(sim.envoy_url + "/info", verify=CA, timeout=5).status_code == 200


def test_stop_ends_a_hang_at_once(clock):
    sim = Simulator(time_func=clock).start()
    sim.hang_next(30)
    sock = socket.create_connection(("127.0.0.1", sim.envoy_port), timeout=5)
    tls = ssl.create_default_context(cafile=CA).wrap_socket(sock, server_hostname="127.0.0.1")
    tls.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: sim.request_counts.get("/info") == 1, timeout=5, message="the hung request")
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    assert tls.recv(100) == b""
    tls.close()


# --- TLS ----------------------------------------------------------------------------------


def served_fingerprint(sim: Simulator) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", sim.envoy_port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def test_fingerprint_is_the_served_certificate(sim):
    assert sim.fingerprint == served_fingerprint(sim)
    assert len(sim.fingerprint) == 64 and sim.fingerprint == sim.fingerprint.lower()
    context = ssl.create_default_context(cafile=sim.ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default; keep the CA honest
    for host in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", sim.envoy_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_impostor_certificate(sim):
    genuine = sim.fingerprint
    sim.use_certificate("impostor")
    assert sim.fingerprint != genuine and sim.fingerprint == served_fingerprint(sim)
    with pytest.raises(requests.exceptions.SSLError):
        get(sim, "/info")
    sim.use_certificate("server")
    assert get(sim, "/info").status_code == 200


def test_cloud_verifies_against_the_same_ca(sim):
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(sim.cloud_url + "/login/login.json", verify=True, timeout=5)


# --- the built-in scenario and the CLI ----------------------------------------------------


def test_metered_scenario_is_self_consistent():
    production = json.loads((DEFAULT_CAPTURE / "production.json").read_bytes())
    readings = json.loads((DEFAULT_CAPTURE / "ivp_meters_readings").read_bytes())
    meters = json.loads((DEFAULT_CAPTURE / "ivp_meters").read_bytes())
    info = parse_info((DEFAULT_CAPTURE / "info").read_bytes())
    assert (info.serial, info.firmware, info.metered) == ("999000000001", "8.2.4382", True)
    eim = production["production"][1]
    total, net = production["consumption"]
    assert (total["measurementType"], net["measurementType"]) == ("total-consumption", "net-consumption")
    for key in ("wNow", "whLifetime", "whToday", "whLastSevenDays"):
        assert net[key] == pytest.approx(total[key] - eim[key], abs=0.01)
    for section in (eim, total, net):
        assert len(section["lines"]) == 2
        assert sum(line["wNow"] for line in section["lines"]) == pytest.approx(section["wNow"], abs=0.01)
    by_type = {m["measurementType"]: r for m, r in zip(meters, readings, strict=True) if m["eid"] == r["eid"]}
    assert by_type["production"]["activePower"] == pytest.approx(eim["wNow"], abs=0.01)
    assert by_type["net-consumption"]["activePower"] == pytest.approx(net["wNow"], abs=0.01)
    grid = by_type["net-consumption"]
    assert grid["actEnergyDlvd"] - grid["actEnergyRcvd"] == pytest.approx(net["whLifetime"], abs=0.01)
    inverters = json.loads((DEFAULT_CAPTURE / "api_v1_production_inverters").read_bytes())
    assert sum(i["lastReportWatts"] for i in inverters) == production["production"][0]["wNow"]


def test_cli_prints_what_a_bridge_needs_and_exits_on_sigterm():
    code = (
        "import argparse, sys; from bridge.simulator import cli; p = argparse.ArgumentParser(); "
        "cli.add_arguments(p); sys.exit(cli.run(p.parse_args(sys.argv[1:])))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--auth", "token"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = {}
        while "cloud_password" not in lines:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            key, _, value = line.strip().partition(": ")
            lines[key] = value
        assert lines["envoy_url"].startswith("https://127.0.0.1:")
        assert lines["fingerprint"] and lines["ca_file"].endswith("ca.pem")
        checked = requests.get(
            lines["envoy_url"] + "/auth/check_jwt",
            verify=lines["ca_file"],
            timeout=5,
            headers={"Authorization": f"Bearer {lines['token']}"},
        )
        assert checked.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
