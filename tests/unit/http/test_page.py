"""The status page: what it says per gateway, the verdict, and that nothing from outside injects or leaks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bridge.http.history import GatewayView, LastError, Point
from bridge.http.page import duration, moment, render

NOW = 1_767_222_000
SERIAL = "999000000003"


def health(**gateway: Any) -> dict[str, Any]:
    entry = {
        "label": "192.168.1.20",
        "online": True,
        "requests": 4210,
        "failures": 2,
        "auth_refused": 0,
        "latency_p50_s": 0.1682,
        "latency_p99_s": 2.3784,
        "token_days_left": 341.2,
        "token_source": "cloud",
        "endpoints": {},
        **gateway,
    }
    mqtt = {"connected": True, "sent": 5120, "queued": 0, "dropped": 0, "reconnects": 1}
    return {"time": NOW, "uptime_s": 3700, "gateways": {SERIAL: entry}, "mqtt": mqtt}


VIEW = GatewayView(
    "192.168.1.20",
    SERIAL,
    "8.2.4382",
    NOW - 12,
    token_expires=1_796_688_000,
    errors=1,
    points=tuple(Point(NOW - 300 + 10 * i, 1500.0, 700.0) for i in range(30)),
)
HEALTHY = {"healthy": True, "summary": "1 of 1 gateway(s) online, last publish 3 s ago", "uptime_s": 3700}


def test_the_page_says_what_the_bridge_does_at_a_glance():
    page = render(health(), HEALTHY, {"192.168.1.20": VIEW}, "site-a")
    assert page.startswith("<!DOCTYPE html>") and '<meta name="viewport"' in page and 'http-equiv="refresh"' in page
    assert '<p class="verdict ok" role="status">healthy: 1 of 1 gateway(s) online, last publish 3 s ago</p>' in page
    assert "MQTT connected: 5120 sent, 0 queued, 0 dropped, 1 reconnects" in page and "Up 1 h" in page
    assert f"Gateway {SERIAL} (192.168.1.20)" in page and '<span class="badge online">online</span>' in page
    assert "<dt>Firmware</dt><dd>8.2.4382</dd>" in page
    assert "<dd>12 s ago (2025-12-31 22:59:48 UTC)</dd>" in page
    assert "expires 2026-12-08, 341.2 days left (from cloud)" in page
    assert "4210, 2 failed, 0 refused; median 168 ms, p99 2.4 s" in page
    assert "<dt>Last error</dt><dd>none</dd>" in page and 'data-points="30"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page  # self-contained


def test_an_unhealthy_bridge_and_an_offline_gateway_say_why():
    view = replace(
        VIEW, last_error=LastError("gateway unreachable: timed out", NOW - 125), token_renewal_error="refused"
    )
    check = {"healthy": False, "summary": "nothing published for gateway 999000000003 in 40 s (limit 30 s)"}
    page = render(health(online=False), check, {"192.168.1.20": view}, "site-a")
    assert '<p class="verdict bad" role="status">unhealthy: nothing published for gateway' in page
    assert '<span class="badge offline">offline</span>' in page
    assert '<span class="problem">gateway unreachable: timed out</span> (2 min ago' in page
    assert "<dt>Token renewal</dt>" in page


def test_a_gateway_not_yet_heard_from():
    page = render(health(online=None, token_days_left=None, latency_p50_s=None), HEALTHY, {}, "site-a")
    assert '<span class="badge starting">starting</span>' in page and "<dd>unknown</dd>" in page
    assert "<dd>never</dd>" in page and "no token" in page and 'data-points="0"' in page


def test_nothing_from_outside_injects_and_no_secret_shows():
    evil = '<img src=x onerror="alert(1)">'
    view = replace(VIEW, label=evil, firmware=evil, last_error=LastError(f"{evil} password=hunter2 s3cretvalue", NOW))
    snapshot = health(label=evil, token_source=evil)
    snapshot["gateways"] = {evil: snapshot["gateways"][SERIAL]}
    page = render(snapshot, {"healthy": False, "summary": evil}, {evil: view}, evil, secrets=("s3cretvalue",))
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "hunter2" not in page and "s3cretvalue" not in page and "********" in page


def test_times_read_as_ages():
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 90000, -5)] == [
        "0 s",
        "59 s",
        "1 min",
        "59 min",
        "1 h",
        "1 d",
        "0 s",
    ]
    assert moment(None, NOW) == "never"
