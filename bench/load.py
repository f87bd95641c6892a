"""Figure 1 and the MQTT message counts: gateway load against pyenphase's, on the fake clock.

Requests (every one the simulator saw, authentication included) and response body bytes per
minute, counted at the simulator, over an hour of the schedule after startup; pyenphase's per
update() in the same run. Messages per minute count what the publisher sent to Mosquitto.
"""

from __future__ import annotations

import time

from bench.common import SimSpec, median, static_spec
from bench.harness import default_poll, ha_equal_poll
from bench.report import SKIPPED, Figure, status_of
from bench.sections import Bench

KIB = 1024.0


def _per(counts: dict, n: float) -> tuple[float, float]:
    return counts["all_requests"] / n, sum(counts["bytes"].values()) / n


# --- pyenphase --------------------------------------------------------------------------------


def measure_pyenphase(b: Bench) -> dict | None:
    """Probe cost, requests and bytes per update, CPU and wall per update, all in one process."""
    if b.pe is None:
        return None
    p = b.params
    b.reset()
    info = b.pe.call("setup", f"{b.main['host']}:{b.main['port']}", b.main["token"], timeout=120)
    setup = b.counts()
    b.reset()
    b.pe.call("updates", p.pyenphase_updates)
    per_update = _per(b.counts(), p.pyenphase_updates)
    endpoints = sorted(b.counts()["requests"])
    cpu, wall = [], []
    for _ in range(p.cpu_repeats):
        run = b.pe.call("updates", p.cpu_cycles)
        cpu.append(sum(run["cpu"]) / p.cpu_cycles)
        wall.append(median(run["wall"]))
    return {
        "version": info["version"],
        "setup_requests": setup["all_requests"],
        "requests": per_update[0],
        "bytes": per_update[1],
        "endpoints": endpoints,
        "cpu_s": median(cpu),
        "cpu_runs": cpu,
        "wall_s": median(wall),
    }


# --- 1 gateway load -----------------------------------------------------------------------------


def load_run(b: Bench, poll, desc: dict | None = None) -> dict:
    h = b.harness(poll, desc=desc)
    try:
        b.reset(desc)
        h.step()  # setup: /info, auth, the probe, the first publish
        # The discovery configs go out once when the read-back window ends (real time): before the
        # count starts, or a run that ends its setup inside the window counts them as steady traffic.
        h.publisher.wait_discovery_ready(10)
        h.publisher.flush(5)
        setup = b.counts(desc)
        b.reset(desc)
        published, cpu = h.published(), time.process_time()
        h.run_for(b.params.load_minutes * 60)
        cpu = time.process_time() - cpu
        counts = b.counts(desc)
        requests, body = _per(counts, b.params.load_minutes)
        return {
            "requests": requests,
            "bytes": body,
            "setup_requests": setup["all_requests"],
            "per_path": {k: v / b.params.load_minutes for k, v in sorted(counts["requests"].items())},
            "bytes_per_request": {k: counts["bytes"][k] / v for k, v in sorted(counts["requests"].items()) if v},
            "messages": (h.published() - published) / b.params.load_minutes,
            "cpu_per_min_s": cpu / b.params.load_minutes,
            "state_topics": h.state_topics(),
            "groups": {g: list(e) for g, e in h.worker.groups.items() if e},
            "republish_s": h.config.mqtt.republish_interval,
        }
    finally:
        h.close()


def gateway_load(b: Bench, pe: dict | None) -> dict:
    default, ha = load_run(b, default_poll()), load_run(b, ha_equal_poll())
    r = b.report
    r.details["load"] = {"default": default, "ha_equal": ha, "pyenphase": pe}
    fast = sum(v for k, v in default["per_path"].items() if v >= 5.9)
    r.add(
        Figure(
            "1",
            "Bridge CPU per minute of operation, default intervals",
            f"{default['cpu_per_min_s'] * 1e3:.0f} ms/min = {default['cpu_per_min_s'] / 60:.2%} of one core",
            note=f"at HA freshness {ha['cpu_per_min_s'] * 1e3:.0f} ms/min"
            + (f"; pyenphase at HA's 60 s {pe['cpu_s'] * 1e3:.0f} ms/min" if pe else ""),
        )
    )
    r.add(
        Figure(
            "1",
            "Gateway load, default intervals",
            f"{default['requests']:.1f} req/min, {default['bytes'] / KIB:.1f} KiB/min",
            note=f"{fast:.0f} req/min of it are the 10 s groups ({_fast_paths(default)})"
            + (
                f"; {default['requests'] / pe['requests']:.1f}x pyenphase's requests for data up to 6x fresher"
                if pe
                else ""
            ),
        )
    )
    if pe is None:
        r.add(
            Figure(
                "1",
                "Gateway load at HA freshness (every group 60 s)",
                f"{ha['requests']:.1f} req/min, {ha['bytes'] / KIB:.1f} KiB/min",
                "<= 50% of pyenphase's req/min",
                SKIPPED,
                b.pe_reason,
            )
        )
        return {"default": default, "ha": ha}
    share, byte_share = ha["requests"] / pe["requests"], ha["bytes"] / pe["bytes"]
    r.add(
        Figure(
            "1",
            "Gateway load at HA freshness (every group 60 s)",
            f"{ha['requests']:.1f} req/min = {share:.0%} of pyenphase; {ha['bytes'] / KIB:.1f} KiB/min "
            f"= {byte_share:.0%}",
            "<= 50% of pyenphase's req/min",
            status_of(share <= 0.5),
            _ha_note(ha, pe, share),
        )
    )
    r.add(
        Figure(
            "1",
            f"pyenphase {pe['version']} (HA: update() every 60 s)",
            f"{pe['requests']:.1f} req/min, {pe['bytes'] / KIB:.1f} KiB/min",
            note="reads " + ", ".join(pe["endpoints"]),
        )
    )
    r.add(
        Figure("1", "Startup probe (requests)", f"bridge {default['setup_requests']}, pyenphase {pe['setup_requests']}")
    )
    return {"default": default, "ha": ha}


def _fast_paths(load: dict) -> str:
    return ", ".join(p for p, v in load["per_path"].items() if v >= 5.9) or "none"


def _ha_note(ha: dict, pe: dict, share: float) -> str:
    paths = ", ".join(p for p, v in ha["per_path"].items() if v >= 0.5)
    if share <= 0.5:
        return f"read every minute: {paths}"
    needed = pe["requests"] * 0.5
    return (
        f"missed by {ha['requests'] - needed:.1f} req/min ({share / 0.5:.2f}x the target): at the same 60 s "
        f"every endpoint the bridge reads costs what pyenphase's does; read every minute: {paths}"
    )


def messages(b: Bench, living: dict) -> None:
    """MQTT messages per minute when nothing changes (a quiet night) and in a living daytime."""
    static = b.rig.call("add", *_spec_args(static_spec()), 1, "9992")[0]
    quiet = load_run(b, default_poll(), desc=static)
    floor = quiet["state_topics"] * 60 / quiet["republish_s"]
    b.report.details["messages"] = {"quiet": quiet, "living": living}
    b.report.add(
        Figure(
            "1",
            "MQTT messages/min, nothing changes (static capture)",
            f"{quiet['messages']:.1f} msg/min",
            f"<= {floor:.1f} (full republish of {quiet['state_topics']} topics every {quiet['republish_s']:.0f} s)",
            status_of(quiet["messages"] <= floor * 1.05),
            ""
            if quiet["messages"] <= floor * 1.05
            else "topics that change on every poll even when the data does not (e.g. diagnostics' last_poll)",
        ),
        Figure(
            "1",
            "MQTT messages/min, living scenario (daytime)",
            f"{living['messages']:.1f} msg/min",
            note=f"{living['state_topics']} state topics",
        ),
    )


def _spec_args(spec: SimSpec) -> tuple:
    return spec.kind, spec.name, spec.jitter
