"""Properties of the identifier rule over any text (hypothesis): it never raises, it accepts
exactly the allow-list, and nothing it accepts can break a topic, a connection or a log line."""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.identifiers import host_problem, id_problem, prefix_problem, serial_problem, show, topic_problem

pytestmark = pytest.mark.property

ALPHABET = set(string.ascii_letters + string.digits + "-_")
# Any text, with the characters that matter over-represented: wildcards, '/', '$', controls,
# U+0085, a non-character, spaces, dots, and the allowed ones.
TRICKY = st.sampled_from(["#", "+", "/", "$", "\n", "\t", "\x00", "\x85", "\ufffe", " ", ".", ":", "a", "1", "-", "_"])
TEXT = st.lists(st.one_of(TRICKY, st.characters()), max_size=80).map("".join)
# Cheap checks: more examples than the layer's default (PROPERTY_EXAMPLES=5000 for a deep hunt).
SETTINGS = settings(max_examples=max(400, int(os.environ.get("PROPERTY_EXAMPLES", "150"))), deadline=None)


def allowed_id(value: str) -> bool:
    """The allow-list, written another way: 1 to 64 characters of [A-Za-z0-9_-]."""
    return 1 <= len(value) <= 64 and set(value) <= ALPHABET


@SETTINGS
@given(TEXT)
def test_an_id_is_accepted_exactly_when_it_is_on_the_allow_list(value):
    assert (id_problem(value) is None) == allowed_id(value)
    if serial_problem(value) is None:
        assert allowed_id(value) and value.lower() != "bridge"


@SETTINGS
@given(TEXT)
def test_an_accepted_id_makes_one_clean_topic_level(value):
    if id_problem(value) is not None:
        assert isinstance(id_problem(value), str) and id_problem(value)  # a reason, never an exception
        return
    topic = f"envoy/{value}/inverter/{value}"
    assert topic_problem(topic) is None
    assert topic.count("/") == 3 and not set(value) & set("#+$/")
    assert value.isascii() and value.isprintable()


@SETTINGS
@given(TEXT)
def test_an_accepted_prefix_has_only_clean_levels(value):
    if prefix_problem(value) is not None:
        return
    levels = value.split("/")
    assert all(levels) and all(set(level) <= ALPHABET for level in levels)
    assert not value.startswith("$") and len(value) <= 128


@SETTINGS
@given(TEXT)
def test_hosts_and_topics_never_let_a_wildcard_or_control_character_through(value):
    for problem in (host_problem(value), topic_problem(value)):
        if problem is None:
            assert value and value.isascii() and value.isprintable() and not set(value) & set("#+ ")


@SETTINGS
@given(TEXT)
def test_shown_values_are_one_printable_ascii_line(value):
    shown = show(value)
    assert (
        shown.isascii() and shown.isprintable() and "\n" not in shown and len(shown) <= 10 * 40 + 5
    )  # "\U0001f600" at worst
