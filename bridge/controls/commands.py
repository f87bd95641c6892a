"""A command as it arrives: `{base}/{serial}/<path>/set` and a payload, read without trusting either.

The payload is the plain value Home Assistant sends (`ON`, `backup`, `20`), or a JSON object
`{"value": ..., "id": "..."}` (a Node-RED flow that wants its own id back on the result).
Anything else is refused with a reason; nothing here can raise past `CommandRefused`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bridge import identifiers
from bridge.errors import CommandRefused

SET, RESULT = "set", "result"
MAX_PAYLOAD_BYTES = 512  # the longest command is a JSON object with a short id
MAX_ID_CHARS = 64


@dataclass(frozen=True)
class Command:
    value: object  # as sent: text, or what the JSON said
    id: str | int | None = None  # the sender's id, echoed on the result


@dataclass(frozen=True)
class Address:
    serial: str
    path: str  # the control's path below `{base}/{serial}/`, without `/set`


def address(topic: str, base_topic: str) -> Address | None:
    """The serial and control path of a `set` topic below `base_topic`; None for anything else."""
    prefix = base_topic + "/"
    if not topic.startswith(prefix) or not topic.endswith("/" + SET):
        return None
    serial, _, path = topic[len(prefix) : -len(SET) - 1].partition("/")
    if not path or identifiers.serial_problem(serial) is not None:
        return None
    return Address(serial, path)


def parse(payload: bytes) -> Command:
    """The command in `payload`; raises CommandRefused, with the id when one could be read."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandRefused(f"the payload is over {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandRefused("the payload is not UTF-8 text") from None
    if not text.startswith("{"):
        return Command(text)
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise CommandRefused("the payload starts with '{' but is not a JSON object") from None
    if not isinstance(document, dict):
        raise CommandRefused("the payload starts with '{' but is not a JSON object")
    command_id = _id(document.get("id"))
    if "value" not in document:
        raise IdentifiedRefusal(command_id, 'the JSON object has no "value"')
    return Command(document["value"], command_id)


class IdentifiedRefusal(CommandRefused):
    """A refusal of a command whose id could be read: the result carries it."""

    def __init__(self, command_id: str | int | None, reason: str) -> None:
        super().__init__(reason)
        self.command_id = command_id


def _id(value: object) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS and value.isprintable():
        return value
    raise CommandRefused(f'"id" must be text of at most {MAX_ID_CHARS} printable characters, or a whole number')


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
