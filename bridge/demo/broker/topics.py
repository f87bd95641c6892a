"""MQTT 3.1.1 topic rules: which filter matches which topic, and which names are valid.

Pure functions, shared by the packet codec (a PUBLISH to an invalid topic is a protocol
error) and the routing (who gets a message, which retained messages a new filter gets).
"""

from __future__ import annotations


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching; a filter starting with a wildcard does not match $-topics (spec 4.7.2)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    parts, levels = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part not in ("+", levels[i])):
            return False
    return len(parts) == len(levels)


def valid_filter(topic_filter: str) -> bool:
    """`#` only alone and last, `+` only alone in its level, never empty or with a NUL."""
    parts = topic_filter.split("/")
    if not topic_filter or "\0" in topic_filter:
        return False
    if any("#" in p and (p != "#" or i != len(parts) - 1) for i, p in enumerate(parts)):
        return False
    return all("+" not in p or p == "+" for p in parts)


def valid_topic(topic: str) -> bool:
    """A topic one publishes to: not empty, no wildcard, no NUL."""
    return bool(topic) and not any(c in topic for c in "+#\0")
