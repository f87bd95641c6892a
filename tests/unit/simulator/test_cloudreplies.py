"""The fake cloud's names and bodies, without a server."""

from __future__ import annotations

import json

import pytest

from bridge.simulator.cloudreplies import (
    CLOUD_MODES,
    FAILURES,
    FLOWS,
    REFUSALS,
    TEXTAREA,
    check_failure,
    check_flow,
    check_mode,
    other_serial,
    refusal,
    token_page,
)


def test_names_are_checked_with_the_choices_in_the_message():
    for mode in CLOUD_MODES:
        check_mode(mode)
    for flow in FLOWS:
        check_flow(flow)
        for failure in FAILURES:
            check_failure(flow, failure)
    with pytest.raises(ValueError, match="cloud mode must be one of ok, bad_password, mfa, down, hang, not 'up'"):
        check_mode("up")
    with pytest.raises(ValueError, match="not 'entrez'"):
        check_failure("entrez", "gone")
    with pytest.raises(ValueError, match="wrong_serial, installer, not 'lost'"):
        check_failure("entrez_json", "lost")


def test_other_serial_is_never_the_one_asked_for():
    assert {other_serial(s) for s in ("999000000001", "999999999999", "999999999998")} == {
        "999999999999",
        "999999999998",
    }
    assert all(other_serial(s) != s for s in ("999999999999", "999999999998", "122"))


STATUS = {"forbidden": 403, "bad_request": 400, "gone": 404, "html": 200, "sign_in": 401, "invalid_serial": 500}


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("failure", REFUSALS)
def test_every_refusal_of_every_flow_has_its_status_and_no_token(flow, failure):
    reply = refusal(flow, failure, "999000000001")
    text = reply.body.decode()
    form_error = flow == "entrez_form" and failure == "invalid_serial"  # the form says so in the textarea
    assert reply.status == (200 if form_error else STATUS[failure])
    assert "eyJ" not in text  # nothing like a JWT
    if TEXTAREA in text:
        assert form_error and text.split(TEXTAREA)[1].startswith("Error: Invalid serial number(999000000001)")
    elif reply.content_type == "application/json":
        assert set(json.loads(text)) == {"message"}
    else:
        assert reply.content_type.startswith("text/html") and text.startswith("<!DOCTYPE html>")


def test_the_token_page_escapes_what_it_echoes():
    body = token_page('Error: Invalid serial number(<script>"x")').body.decode()
    assert f"{TEXTAREA}Error: Invalid serial number(&lt;script&gt;&quot;x&quot;)</textarea>" in body
