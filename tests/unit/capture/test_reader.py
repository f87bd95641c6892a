"""bridge.capture.reader: one endpoint at a time with a pause, every answer kept whatever its
status, a refusal recorded as the gateway's answer, the gateway gone or a bad pin stops it."""

from __future__ import annotations

import pytest

from bridge.capture.reader import UNAVAILABLE_IN_A_ROW, read_all
from bridge.errors import EnvoyAuthError, EnvoyDataError, EnvoyHTTPError, EnvoyUnavailable, TLSPinError
from bridge.gateway.client import PROOF_READ
from bridge.gateway.transport import Reply
from bridge.model import parse_info
from tests.unit.gateway.helpers import info_xml


class ScriptedGateway:
    """The client's two calls, answered from a script: endpoint -> a Reply or an error to raise."""

    def __init__(self, script):
        self.script = script
        self.calls: list[tuple[str, bool]] = []

    def fetch_info(self):
        return parse_info(info_xml())

    def fetch(self, endpoint, probing=True):
        self.calls.append((endpoint, probing))
        answer = self.script[endpoint]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_every_answer_is_kept_with_its_status_and_type_and_the_pause_comes_between_requests():
    gateway = ScriptedGateway(
        {
            "/info": Reply(200, b"<envoy_info/>", None, None, "text/xml"),
            PROOF_READ: Reply(200, b"{}", None, None, "application/json"),
            "/ivp/ensemble/power": Reply(404, b'{"error": "404 - Not Found"}', None, None),
            "/ivp/pdm/device_data": EnvoyHTTPError(401, "refused for this token"),
            "/home": EnvoyDataError("envoy.test /home: body too large (over 2048 KiB)"),
        }
    )
    pauses: list[float] = []
    info, answers = read_all(gateway, list(gateway.script), pause_s=0.7, sleep=pauses.append)
    assert info.serial == "122233445566"
    assert pauses == [0.7] * 4
    assert [(a.endpoint, a.status) for a in answers] == [
        ("/info", 200),
        (PROOF_READ, 200),
        ("/ivp/ensemble/power", 404),
        ("/ivp/pdm/device_data", 401),
        ("/home", None),
    ]
    assert answers[0].content_type == "text/xml" and answers[2].body == b'{"error": "404 - Not Found"}'
    assert answers[3].body == b"" and answers[3].error is None  # refused: the gateway's answer
    assert "body too large" in (answers[4].error or "")
    # the proof read as the bridge polls (a stale token is renewed there), every other as a probe
    assert [probing for endpoint, probing in gateway.calls if endpoint == PROOF_READ] == [False]
    assert all(probing for endpoint, probing in gateway.calls if endpoint != PROOF_READ)


def test_an_error_text_is_kept_without_its_secrets():
    gateway = ScriptedGateway({"/x": EnvoyUnavailable("envoy.test /x: timed out; Cookie: sessionId=abc123")})
    _, answers = read_all(gateway, ["/x"], sleep=lambda _: None)
    assert answers[0].status is None and "abc123" not in (answers[0].error or "")


def test_the_gateway_gone_for_several_endpoints_in_a_row_stops_the_capture():
    gone = EnvoyUnavailable("envoy.test: connection refused (3 attempts)")
    script = {"/ok": Reply(200, b"{}", None, None), **{f"/gone{i}": gone for i in range(UNAVAILABLE_IN_A_ROW + 2)}}
    gateway = ScriptedGateway(script)
    with pytest.raises(EnvoyUnavailable, match="stopped answering during the capture"):
        read_all(gateway, list(script), sleep=lambda _: None)
    assert len(gateway.calls) == 1 + UNAVAILABLE_IN_A_ROW  # not one request more


@pytest.mark.parametrize("error", [TLSPinError("fingerprint mismatch"), EnvoyAuthError("refuses the token")])
def test_a_wrong_certificate_or_refused_credentials_stop_the_capture(error):
    gateway = ScriptedGateway(
        {"/info": Reply(200, b"", None, None), PROOF_READ: error, "/more": Reply(200, b"", None, None)}
    )
    with pytest.raises(type(error)):
        read_all(gateway, list(gateway.script), sleep=lambda _: None)
    assert [endpoint for endpoint, _ in gateway.calls] == ["/info", PROOF_READ]
