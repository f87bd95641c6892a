"""`/`: the status page, one self-contained HTML document rendered on the server.

What the bridge is doing and why, at a glance: the health verdict (the same as
`envoy-mqtt-bridge health`), MQTT, and per gateway its availability, firmware, last poll, token
expiry, requests, last error and the last hour's chart. Inline CSS, no script, no external
resource; it reloads itself every `REFRESH_S`. Every text from outside the page (a serial, a
label, an error) is HTML-escaped, and an error is masked again (`bridge.redaction`) before that:
nothing on the page may carry a secret.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from bridge import __version__
from bridge.http.chart import chart
from bridge.http.history import GatewayView
from bridge.redaction import redact

REFRESH_S = 15
STYLE = """
:root{color-scheme:light;--ok:#166534;--bad:#991b1b;--muted:#4b5563;--line:#d1d5db;--production:#b45309;--consumption:#1d4ed8}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f3f4f6}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 .75rem}h1{font-size:1.35rem;margin:.9rem 0 .4rem}
h2{font-size:1.1rem;margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;overflow-wrap:anywhere}
.verdict{padding:.6rem .8rem;border-radius:.4rem;color:#fff;font-weight:600;margin:.4rem 0;overflow-wrap:anywhere}
.verdict.ok{background:var(--ok)}.verdict.bad{background:var(--bad)}.facts{color:var(--muted);margin:.3rem 0 .8rem}
main{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr))}
section{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.8rem}
.badge{font-size:.85rem;padding:.1rem .5rem;border-radius:1rem;color:#fff;background:var(--muted)}
.badge.online{background:var(--ok)}.badge.offline{background:var(--bad)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0 0 .6rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}.problem{color:var(--bad)}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
.plot{position:relative;border-left:1px solid var(--line);border-bottom:1px solid var(--line);height:9rem}
.plot svg{display:block;width:100%;height:100%}.plot .high,.plot .low{position:absolute;left:.3rem;font-size:.8rem;color:var(--muted);background:#fffc}
.plot .high{top:0}.plot .low{bottom:.1rem}.line{fill:none;stroke-width:2;vector-effect:non-scaling-stroke}
.line.production{stroke:var(--production)}.line.consumption{stroke:var(--consumption)}
.zero{stroke:var(--line);vector-effect:non-scaling-stroke}
.axis{display:flex;justify-content:space-between;font-size:.8rem;color:var(--muted)}
.legend{list-style:none;padding:0;margin:.3rem 0 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
.swatch{display:inline-block;width:1rem;height:.25rem;margin-right:.35rem;vertical-align:middle}
.swatch.production{background:var(--production)}.swatch.consumption{background:var(--consumption)}
footer{color:var(--muted);font-size:.85rem;padding:1rem .75rem}
"""


def render(
    health: dict[str, Any],
    check: dict[str, Any],
    views: dict[str, GatewayView],
    instance: str,
    secrets: tuple[str, ...] = (),
) -> str:
    """The page for one health snapshot (`admin/health.py`), its verdict (`check()`) and the histories."""
    now = float(health["time"])
    healthy = bool(check["healthy"])
    verdict = f"{'healthy' if healthy else 'unhealthy'}: {check['summary']}"
    sections = "".join(
        gateway_section(index, serial, gateway, views.get(gateway["label"]), now, secrets)
        for index, (serial, gateway) in enumerate(health["gateways"].items())
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        f"<title>Envoy bridge {escape(instance)}: {'healthy' if healthy else 'unhealthy'}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>Envoy MQTT bridge <small>{escape(instance)}</small></h1>"
        f'<p class="verdict {"ok" if healthy else "bad"}" role="status">{escape(verdict)}</p>'
        f'<p class="facts">{escape(bridge_facts(health))}</p></header>'
        f"<main>{sections}</main>"
        f"<footer>Version {escape(__version__)} · refreshes every {REFRESH_S} s · "
        '<a href="/metrics">metrics</a> · <a href="/healthz">healthz</a></footer></body></html>'
    )


def bridge_facts(health: dict[str, Any]) -> str:
    mqtt = health["mqtt"]
    broker = "connected" if mqtt["connected"] else "NOT connected"
    return (
        f"Up {duration(health['uptime_s'])} · MQTT {broker}: {mqtt['sent']} sent, {mqtt['queued']} queued, "
        f"{mqtt['dropped']} dropped, {mqtt['reconnects']} reconnects"
    )


def gateway_section(
    index: int, serial: str, gateway: dict[str, Any], view: GatewayView | None, now: float, secrets: tuple[str, ...]
) -> str:
    view = view or GatewayView(gateway["label"])
    state = {True: "online", False: "offline"}.get(gateway["online"], "starting")
    name = serial if serial == gateway["label"] else f"{serial} ({gateway['label']})"
    heading_id = f"gateway-{index}"
    rows = [
        ("Firmware", escape(view.firmware or "unknown")),
        ("Last poll", escape(moment(view.last_poll, now))),
        ("Token", escape(token_text(gateway, view))),
        ("Requests (1 h)", escape(requests_text(gateway))),
        ("Errors", escape(f"{view.errors} since start")),
        ("Last error", error_html(view, now, secrets)),
    ]
    if view.token_renewal_error:
        rows.append(
            ("Token renewal", f'<span class="problem">{escape(redact(view.token_renewal_error, secrets))}</span>')
        )
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (
        f'<section aria-labelledby="{heading_id}"><h2 id="{heading_id}">Gateway {escape(name)} '
        f'<span class="badge {state}">{state}</span></h2><dl>{items}</dl>'
        f"{chart(view.points, now, 'Last hour: production and consumption')}</section>"
    )


def token_text(gateway: dict[str, Any], view: GatewayView) -> str:
    if gateway["token_days_left"] is None:
        return "no token (firmware before 7, or not yet known)"
    expires = f"expires {_date(view.token_expires)}, " if view.token_expires else ""
    return f"{expires}{gateway['token_days_left']:g} days left (from {gateway['token_source'] or 'unknown'})"


def requests_text(gateway: dict[str, Any]) -> str:
    text = f"{gateway['requests']}, {gateway['failures']} failed, {gateway['auth_refused']} refused"
    if gateway["latency_p50_s"] is None:
        return text
    return f"{text}; median {seconds(gateway['latency_p50_s'])}, p99 {seconds(gateway['latency_p99_s'])}"


def seconds(value: float) -> str:
    """0.0017 -> "2 ms", 2.3784 -> "2.4 s": a latency at a glance."""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def error_html(view: GatewayView, now: float, secrets: tuple[str, ...]) -> str:
    if view.last_error is None:
        return "none"
    text = redact(view.last_error.text, secrets)
    return f'<span class="problem">{escape(text)}</span> ({escape(moment(view.last_error.time, now))})'


def moment(when: float | None, now: float) -> str:
    """ "12 s ago (2026-01-01 10:00:00 UTC)"; "never" for None."""
    if when is None:
        return "never"
    return f"{duration(now - when)} ago ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(when))})"


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _date(when: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(when))
