"""Event specs of the simulator: "NAME[:KEY=VALUE]...[@WHEN]", comma-separated, and what a
scheduled event remembers. WHEN is "+30s" / "+2m" / "+1h" (real time from now, once) or
"HH:MM" (every simulated day at that local time); no WHEN means now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.simulator.clock import SimClock
from bridge.simulator.httpd import Response

MALFORMED_KINDS = ("truncated", "html", "empty", "garbage")
_UNITS = {"s": 1, "m": 60, "h": 3600, "": 1}
Params = dict[str, object]  # an event's KEY=VALUE parameters, values as int, float or str


@dataclass
class Scheduled:
    name: str
    params: Params
    real_at: float | None = None  # once, on the real clock
    daily_hour: float | None = None  # every simulated day at this local hour
    last_sim: float = 0.0
    done: bool = False

    def is_due(self, now: float, sim_now: float, clock: SimClock) -> bool:
        """Whether it runs now (real `now`, simulated `sim_now`): a one-off is then done; a daily
        one fires when its hour passed since the last look, and remembers this look."""
        if self.done:
            return False
        if self.real_at is not None and now >= self.real_at:
            self.done = True
            return True
        if self.daily_hour is None:
            return False
        due = clock.next_time_of_day(self.last_sim, self.daily_hour) <= sim_now
        self.last_sim = sim_now
        return due

    def describe(self) -> str:
        if self.daily_hour is not None:
            return f"{self.name} daily at {int(self.daily_hour):02d}:{round(self.daily_hour % 1 * 60):02d}"
        return f"{self.name} at +{self.real_at:.0f}"


def parse_when(text: str) -> tuple[float | None, float | None]:
    """(real offset s, daily local hour) from "+30s" / "HH:MM"; (None, None) = now."""
    text = text.strip()
    if not text:
        return None, None
    rel = re.fullmatch(r"\+(\d+(?:\.\d+)?)\s*([smh]?)", text)
    if rel:
        return float(rel.group(1)) * _UNITS[rel.group(2)], None
    daily = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if daily and int(daily.group(1)) < 24 and int(daily.group(2)) < 60:
        return None, int(daily.group(1)) + int(daily.group(2)) / 60
    raise ValueError(f"event time must be +N[s|m|h] or HH:MM, not {text!r}")


def _value(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_events(spec: str) -> list[tuple[str, Params, float | None, float | None]]:
    """[(name, params, real offset, daily hour)] from "grid_outage@+30s,slow:delay_s=2"."""
    events = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        head, _, when = item.partition("@")
        name, *pairs = head.strip().split(":")
        params: Params = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq:
                raise ValueError(f"event parameter must be KEY=VALUE, not {pair!r} in {item!r}")
            params[key.strip()] = _value(value.strip())
        events.append((name.strip(), params, *parse_when(when)))
    return events


def malformed(response: Response, kind: str) -> Response:
    body = response.body
    if kind == "truncated":
        return Response(200, body[: max(1, len(body) // 2)], response.content_type)
    if kind == "html":  # some firmware answers an HTML error page with status 200
        return Response(200, b"<html><body><h1>Internal Server Error</h1></body></html>", "text/html")
    if kind == "empty":
        return Response(200, b"", response.content_type)
    return Response(200, b"\x00\xff\xfe{not json" + bytes(range(1, 32)), response.content_type)
