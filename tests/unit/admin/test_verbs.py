"""The verbs on a real worker over the fake gateway of the controls' tests: every request checked
before anything happens, a gateway's work run as a job on its worker's thread."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from bridge.admin.requests import Request
from bridge.admin.verbs import Verbs
from bridge.app import sinks_for
from bridge.auth.tokens import TokenInfo
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.errors import EnvoyUnavailable
from bridge.gateway.jobs import MAX_PENDING
from bridge.gateway.worker import EnvoyWorker
from bridge.sinks import FanOut
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder
from tests.unit.controls.gateway import SERIAL, FakeGateway

Answer = tuple[str, str | int | None, Any, str | None]


class RenewingGateway(FakeGateway):
    """The fake gateway, with a token that can be renewed (or not, when `renew_error` is set)."""

    renew_error: Exception | None = None

    def renew_token(self, force: bool = True) -> TokenInfo:
        if self.renew_error is not None:
            raise self.renew_error
        now = time.time()  # what the renewal's answer counts the days from
        self.token_info = TokenInfo(SERIAL, "owner", "me@example.com", now, now + 365 * 86400)
        return self.token_info


def make_verbs(label_serial: str | None = None) -> tuple[Verbs, EnvoyWorker, RenewingGateway, list[Answer], FakeClock]:
    clock = FakeClock(1.8e9)
    gateway = RenewingGateway()
    config = Config(gateways=(GatewayConfig(host="gw", serial=label_serial, insecure=True),), poll=PollIntervals())
    sinks = FanOut(sinks_for(config, config.gateways[0], Recorder()).sinks)
    worker = EnvoyWorker(config.gateways[0], config, sinks, client=gateway, monotonic=clock.monotonic, wall=clock)  # type: ignore[arg-type]
    worker._step()
    answers: list[Answer] = []
    verbs = Verbs(
        [worker],
        lambda: {"healthy": True},
        lambda request, data, error: answers.append((request.verb, request.transaction, data, error)),
        secrets=("s3cret",),
        monotonic=clock.monotonic,
        instance="site-a",
    )
    return verbs, worker, gateway, answers, clock


def ask(verbs: Verbs, verb: str, transaction: str = "t", **body: Any) -> None:
    verbs.handle(Request(verb, body, transaction))


def test_health_check_and_log_level_answer_at_once():
    verbs, _, _, answers, _ = make_verbs()
    root = logging.getLogger()
    before = root.level
    try:
        ask(verbs, "health_check")
        ask(verbs, "log_level", level="warning")
        level = root.level
    finally:
        root.setLevel(before)
    assert answers == [
        ("health_check", "t", {"healthy": True, "instance": "site-a"}, None),
        ("log_level", "t", {"level": "WARNING", "instance": "site-a"}, None),
    ]
    assert level == logging.WARNING


@pytest.mark.parametrize(
    "verb, body, error",
    [
        ("log_level", {"level": "LOUD"}, "`level` must be one of"),
        ("log_level", {"level": 10}, "`level` must be one of"),
        ("poll", {"gateway": "000000000000", "instance": "site-a"}, "no such gateway"),
        ("poll", {"gateway": 12}, "`gateway` must name"),
        ("poll", {"gateway": SERIAL, "force": True}, "unknown key(s) force for poll"),
        ("read", {"path": "https://example.com/"}, "`path` must be one of the endpoints"),
        ("read", {"path": "/ivp/meters/../../etc/passwd"}, "`path` must be one of the endpoints"),
        ("health_check", {"x": 1}, "unknown key(s) x"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_reaches_the_gateway(verb, body, error):
    verbs, worker, gateway, answers, _ = make_verbs()
    reads = len(gateway.reads)
    ask(verbs, verb, **body)
    worker.jobs.run_due()
    assert len(answers) == 1 and answers[0][2] is None and error in answers[0][3]
    assert len(gateway.reads) == reads and worker.jobs.next_due() is None


def test_another_instances_gateway_or_instance_is_left_to_it():
    """Several bridges share the request topics (docs/fleet.md): no answer, nothing read."""
    verbs, worker, gateway, answers, _ = make_verbs()
    reads = len(gateway.reads)
    ask(verbs, "poll", gateway="000000000000")  # a gateway this instance does not serve
    ask(verbs, "poll", gateway=SERIAL, instance="site-b")
    ask(verbs, "health_check", instance="site-b")
    worker.jobs.run_due()
    assert answers == [] and len(gateway.reads) == reads


def test_poll_runs_on_the_worker_and_delivers_then_a_second_is_too_soon():
    verbs, worker, gateway, answers, clock = make_verbs()
    gateway.reads.clear()
    ask(verbs, "poll", gateway=SERIAL)
    assert answers == [] and gateway.reads == []  # queued for the worker's thread, nothing read yet
    worker.jobs.run_due()
    assert answers[0][2]["delivered"] is True and answers[0][3] is None
    assert set(gateway.reads) >= {"/ivp/ensemble/inventory", "/admin/lib/tariff"}
    ask(verbs, "poll")  # the one gateway: its name may be left out
    clock.advance(10)
    ask(verbs, "poll", gateway=SERIAL)
    worker.jobs.run_due()
    assert answers[1][3].startswith("too soon: one poll every 10 s") and answers[2][3] is None


def test_a_gateway_is_named_by_its_label_too():
    verbs, worker, _, answers, _ = make_verbs(label_serial=SERIAL)
    ask(verbs, "rediscover", gateway=worker.gateway.label)
    worker.jobs.run_due()
    assert answers[0][3] is None
    assert answers[0][2]["firmware"] == "8.2.4382" and "/ivp/ensemble/inventory" in answers[0][2]["endpoints"]


def test_read_masks_serials_and_e_mails():
    verbs, worker, gateway, answers, _ = make_verbs()
    gateway.docs["/ivp/ensemble/inventory"][0]["devices"][0]["owner_email"] = "me@example.com"
    gateway.docs["/ivp/ensemble/inventory"][0]["devices"][0]["note"] = f"paired with {SERIAL} by me@example.com"
    ask(verbs, "read", gateway=SERIAL, path="/ivp/ensemble/inventory")
    worker.jobs.run_due()
    shown = json.dumps(answers[0][2])
    assert answers[0][3] is None and answers[0][2]["path"] == "/ivp/ensemble/inventory"
    assert SERIAL not in shown and "482200000001" not in shown and "me@example.com" not in shown
    assert answers[0][2]["document"][0]["devices"][0]["percentFull"] == 60  # the rest is as sent


def test_renew_token_answers_the_new_token_or_the_error():
    verbs, worker, gateway, answers, clock = make_verbs()
    ask(verbs, "renew_token")
    worker.jobs.run_due()
    clock.advance(60)
    gateway.renew_error = EnvoyUnavailable("gw /auth/check_jwt: timed out, password s3cret")
    ask(verbs, "renew_token")
    worker.jobs.run_due()
    assert 364.9 <= answers[0][2]["token_days_left"] <= 365.0 and answers[0][2]["token_type"] == "owner"
    assert answers[1][2] is None and "timed out" in answers[1][3] and "s3cret" not in answers[1][3]


def test_a_full_queue_is_refused():
    verbs, worker, _, answers, _ = make_verbs()
    for _ in range(MAX_PENDING):
        worker.jobs.submit(lambda: None, delay=100)
    ask(verbs, "read", path="/ivp/meters/readings")
    assert answers[0][3] == "too many requests waiting for this gateway; try again later"


def test_poll_before_the_gateway_answered_is_an_error():
    verbs, worker, _, answers, _ = make_verbs()
    worker.info_needs_setup = True
    ask(verbs, "poll")
    worker.jobs.run_due()
    assert "has not answered yet" in answers[0][3]
