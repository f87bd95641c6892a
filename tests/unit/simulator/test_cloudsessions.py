"""Cloud sessions on a fake clock: one site each, alive while used, gone when idle or forgotten."""

from __future__ import annotations

import base64
import uuid

from bridge.simulator.cloudsessions import ENLIGHTEN, ENTREZ, CloudSessions
from tests.support.clock import FakeClock


def test_a_session_names_who_signed_in_on_its_own_site_only():
    sessions = CloudSessions(600, FakeClock())
    enlighten, entrez = sessions.open(ENLIGHTEN, "a@example.com"), sessions.open(ENTREZ, "b@example.com")
    assert sessions.use(ENLIGHTEN, enlighten) == "a@example.com" and sessions.use(ENTREZ, entrez) == "b@example.com"
    assert sessions.use(ENTREZ, enlighten) is None and sessions.use(ENLIGHTEN, entrez) is None
    assert sessions.use(ENLIGHTEN, None) is None and sessions.use(ENLIGHTEN, "0" * 32) is None


def test_the_ids_look_like_the_real_ones():
    sessions = CloudSessions(600, FakeClock())
    enlighten = sessions.open(ENLIGHTEN, "a@example.com")
    assert len(enlighten) == 32 and int(enlighten, 16) >= 0
    assert uuid.UUID(base64.b64decode(sessions.open(ENTREZ, "a@example.com")).decode()).version == 4


def test_use_keeps_a_session_alive_and_idleness_ends_it():
    clock = FakeClock()
    sessions = CloudSessions(600, clock)
    session_id = sessions.open(ENLIGHTEN, "a@example.com")
    for _ in range(3):
        clock.now += 600
        assert sessions.use(ENLIGHTEN, session_id) == "a@example.com"
    clock.now += 601
    assert sessions.use(ENLIGHTEN, session_id) is None
    clock.now -= 601  # gone for good: not back when the clock is
    assert sessions.use(ENLIGHTEN, session_id) is None


def test_forget_ends_them_all():
    sessions = CloudSessions(600, FakeClock())
    opened = [sessions.open(ENLIGHTEN, "a@example.com"), sessions.open(ENTREZ, "a@example.com")]
    sessions.forget()
    assert sessions.use(ENLIGHTEN, opened[0]) is None and sessions.use(ENTREZ, opened[1]) is None
