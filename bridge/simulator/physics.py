"""The physics of the simulated home: sun, house load, batteries, grid; energy as integrals.

Instantaneous powers (W) at simulated time t, all deterministic functions of t and the
battery's state of charge:

    sun(t)        = sin(pi * (h - sunrise) / (sunset - sunrise)) ** 1.3 between sunrise and sunset, else 0
    pv(t)         = inverters * inverter_w * sun(t) * (1 - clouds * cloudiness(t))
    load(t)       = base_w + sum(peak.w * exp(-d(h, peak.at)^2 / (2 peak.width^2))) + noise_w * appliances(t)
    battery(t)    = self-consumption: min(load - pv, max_power) discharging above the floor,
                    -min(pv - load, max_power) charging below 100 %; positive = discharging;
                    the storage mode, reserve and charge-from-grid (controls.py) change the floor,
                    when they may discharge and whether they charge from the grid
    net(t)        = load - production - battery   (the net-consumption CT; positive = import)
    off grid:       net = 0; battery = load - production; production curtailed to load + charge
                    when the batteries cannot take the surplus; load shed to what pv + batteries give

Counters (Wh) are integrals of those powers, stepped at most 60 s apart, so they only grow
and stay consistent with each other: production, load, import = integral of max(net, 0),
export = integral of max(-net, 0), battery discharged / charged, per phase too. The state of
charge integrates the battery power (charging losses included) and stays within its limits.
Snapshots taken at each local midnight give "today" and "last seven days".
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence

from bridge.simulator.clock import DAY_S, SimClock
from bridge.simulator.controls import Controls
from bridge.simulator.noise import value_noise
from bridge.simulator.reports import Reports
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Power, Snapshot

REPORT_S = 300  # microinverters report every 5 minutes
FINE_STEP_S = 60.0  # integration step: a minute of simulated time
COARSE_STEP_S = 300.0  # when catching up more than a few hours (a clock jump, the pre-roll)
COARSE_AFTER_S = 6 * 3600
PREROLL_S = 7 * DAY_S  # history simulated before the start, so "last seven days" is real
INVERTER_RATIO = 0.99  # inverters' own energy count runs a little below the production CT
EPS_WH = 1e-9


def _hour_distance(h: float, at: float) -> float:
    d = abs(h - at) % 24
    return min(d, 24 - d)


def _shares(weights: Sequence[float], n: int) -> tuple[float, ...]:
    weights = [max(0.0, float(w)) for w in weights] if weights else [1.0] * n
    total = sum(weights) or 1.0
    return tuple(w / total for w in weights)


def _counter_names(n: int) -> list[str]:
    names = ["production", "load", "import", "export", "discharged", "charged", "inverters"]
    return names + [f"{name}:{p}" for name in names[:6] for p in range(n)]


class World:
    """The simulated home; `snapshot()` advances it to the clock's now. Thread-safe."""

    def __init__(self, scenario: Scenario, clock: SimClock, controls: Controls | None = None):
        self.s, self.clock = scenario, clock
        self.controls = controls or Controls(scenario)
        self.n = scenario.phases
        self.seed = scenario.seed * 1000
        self._lock = threading.RLock()
        self.grid_up = True
        self.prod_share = _shares(
            [sum(1 for i in range(scenario.pv.inverters) if i % self.n == p) for p in range(self.n)], self.n
        )
        self.load_share = _shares(scenario.load.phase_share, self.n)
        battery = self.battery = scenario.installed_battery
        self.capacity = battery.units * battery.capacity_wh if battery else 0.0
        self.max_power = battery.units * battery.max_power_w if battery else 0.0
        self.energy = self.capacity * (battery.initial_soc / 100.0) if battery else 0.0
        self.bat_share = (
            _shares([sum(1 for u in range(battery.units) if u % self.n == p) for p in range(self.n)], self.n)
            if battery
            else (0.0,) * self.n
        )
        self.t = clock.now() - PREROLL_S
        self.counters = self._initial_counters()
        self.midnights: deque[tuple[float, dict[str, float]]] = deque(maxlen=9)
        self.midnights.append((clock.day_start(self.t), dict(self.counters)))
        self.report_t, self.report_w = self.t, 0.0
        self.reports = Reports()  # what the gateway uploaded to the cloud, every quarter hour
        self.advance(clock.now())

    def _initial_counters(self) -> dict[str, float]:
        s = self.s
        totals = {
            "production": s.lifetime_production_wh,
            "load": s.lifetime_consumption_wh,
            "import": s.lifetime_import_wh,
            "discharged": 0.0,
            "charged": 0.0,
            "inverters": s.lifetime_production_wh * INVERTER_RATIO,
        }
        if self.capacity:  # a battery that has cycled a while
            totals["discharged"], totals["charged"] = self.capacity * 150, self.capacity * 158
        # Energy balance from day one: load = production + import - export + discharged - charged.
        totals["export"] = (
            totals["production"] + totals["import"] + totals["discharged"] - totals["charged"] - totals["load"]
        )
        if totals["export"] < 0:
            raise ValueError(
                f"scenario {s.name}: lifetime counters imply a negative export; "
                "raise lifetime_production_wh or lifetime_import_wh"
            )
        counters = dict.fromkeys(_counter_names(self.n), 0.0)
        counters.update(totals)
        shares = {
            "production": self.prod_share,
            "load": self.load_share,
            "discharged": self.bat_share,
            "charged": self.bat_share,
            "import": self.load_share,
            "export": self.prod_share,
        }
        for name, share in shares.items():
            for p in range(self.n):
                counters[f"{name}:{p}"] = totals[name] * share[p]
        return counters

    # --- instantaneous ------------------------------------------------------------------

    def pv_available(self, t: float) -> float:
        pv, h = self.s.pv, self.clock.hour(t)
        if not pv.sunrise < h < pv.sunset:
            return 0.0
        sun = math.pow(math.sin(math.pi * (h - pv.sunrise) / (pv.sunset - pv.sunrise)), 1.3)
        cloudiness = 0.6 * value_noise(t, 1800, self.seed + 1) + 0.4 * value_noise(t, 240, self.seed + 2)
        return pv.inverters * pv.inverter_w * sun * max(0.0, 1.0 - pv.clouds * cloudiness)

    def demand(self, t: float) -> float:
        load, h = self.s.load, self.clock.hour(t)
        peaks = sum(p.w * math.exp(-(_hour_distance(h, p.at) ** 2) / (2 * p.width**2)) for p in load.peaks)
        appliances = value_noise(t, 180, self.seed + 3) ** 2 * 1.5
        return load.base_w + peaks + load.noise_w * appliances

    def _load_shares(self, t: float) -> tuple[float, ...]:
        return _shares(
            [share * (0.8 + 0.4 * value_noise(t, 600, self.seed + 10 + p)) for p, share in enumerate(self.load_share)],
            self.n,
        )

    def power(self, t: float, dt_h: float | None = None) -> Power:
        """Flows at t for the current state of charge; with `dt_h`, the battery is also
        limited so that a step of that length cannot overshoot full or the floor."""
        on_grid = self.on_grid
        pv = 0.0 if self.controls.production_forced_off else self.pv_available(t)
        load = self.demand(t) * (1.0 - self.controls.shed_share(on_grid))
        if not on_grid and not self.s.can_island:
            zero = (0.0,) * self.n
            return Power(t, 0.0, 0.0, 0.0, 0.0, zero, zero, zero, zero, pv, dark=True)
        battery = self._battery(load - pv, dt_h, t)
        production, curtailed = pv, False
        if not on_grid:  # islanded: nothing comes from or goes to the grid
            if load - pv > 0:
                load = pv + battery  # shed what the batteries cannot carry
            else:
                production, curtailed = load - battery, load - battery < pv - 1e-6
        return self._split(t, production, load, battery, pv, curtailed)

    def _battery(self, deficit: float, dt_h: float | None, t: float) -> float:
        b = self.battery
        if b is None or not self.capacity:
            return 0.0
        policy = self.controls.policy(self.on_grid, self.clock.hour(t))
        max_power = self.max_power * self.controls.awake_share()
        if deficit > 0 and policy.may_discharge:
            floor = self.capacity * policy.floor_pct / 100.0
            limit = max_power if self.energy > floor + EPS_WH else 0.0
            if dt_h:
                limit = min(limit, max(0.0, self.energy - floor) / dt_h)
            return min(deficit, limit)
        room = self.capacity - self.energy
        limit = max_power if room > EPS_WH else 0.0
        if dt_h:
            limit = min(limit, room / b.efficiency / dt_h)
        return -min(max(-deficit, self._grid_charge(policy.grid_charge_to_pct, max_power, dt_h)), limit)

    def _grid_charge(self, target_pct: float | None, max_power: float, dt_h: float | None) -> float:
        """What the batteries would take from the grid to reach the target (charge from grid)."""
        missing = self.capacity * (target_pct or 0.0) / 100.0 - self.energy
        if target_pct is None or self.battery is None or missing <= EPS_WH:
            return 0.0
        return min(max_power, missing / self.battery.efficiency / dt_h) if dt_h else max_power

    def _split(self, t: float, production: float, load: float, battery: float, pv: float, curtailed: bool) -> Power:
        prod_ph = tuple(production * s for s in self.prod_share)
        load_ph = tuple(load * s for s in self._load_shares(t))
        if self.on_grid:
            bat_ph = tuple(battery * s for s in self.bat_share)
            net_ph = tuple(lo - pr - ba for lo, pr, ba in zip(load_ph, prod_ph, bat_ph, strict=True))
            net = load - production - battery
        else:  # each phase is balanced by the batteries, the grid carries nothing
            bat_ph = tuple(lo - pr for lo, pr in zip(load_ph, prod_ph, strict=True))
            net_ph, net = (0.0,) * self.n, 0.0
        return Power(t, production, load, battery, net, prod_ph, load_ph, bat_ph, net_ph, pv, curtailed)

    # --- integration ----------------------------------------------------------------------

    def advance(self, t_end: float) -> None:
        with self._lock:
            while self.t < t_end - 1e-9:
                step = COARSE_STEP_S if t_end - self.t > COARSE_AFTER_S else FINE_STEP_S
                boundary = (math.floor(self.t / REPORT_S) + 1) * REPORT_S
                midnight = self.clock.next_midnight(self.t)
                t1 = min(t_end, self.t + step, boundary, midnight)
                self._step(self.t, t1)
                self.t = t1
                if t1 >= midnight - 1e-6:
                    self.midnights.append((midnight, dict(self.counters)))
                if t1 >= boundary - 1e-6:
                    self._inverter_report(boundary)
                    self.reports.record(boundary, self.counters, self._soc())

    def _step(self, t0: float, t1: float) -> None:
        dt_h = (t1 - t0) / 3600.0
        p = self.power((t0 + t1) / 2, dt_h)
        c = self.counters
        self._add("production", p.production, p.production_ph, dt_h)
        self._add("load", p.load, p.load_ph, dt_h)
        c["import"] += max(p.net, 0.0) * dt_h
        c["export"] += max(-p.net, 0.0) * dt_h
        c["discharged"] += max(p.battery, 0.0) * dt_h
        c["charged"] += max(-p.battery, 0.0) * dt_h
        for i in range(self.n):
            c[f"import:{i}"] += max(p.net_ph[i], 0.0) * dt_h
            c[f"export:{i}"] += max(-p.net_ph[i], 0.0) * dt_h
            c[f"discharged:{i}"] += max(p.battery_ph[i], 0.0) * dt_h
            c[f"charged:{i}"] += max(-p.battery_ph[i], 0.0) * dt_h
        if self.battery is not None and self.capacity:
            delta = -p.battery * dt_h * (self.battery.efficiency if p.battery < 0 else 1.0)
            self.energy = min(self.capacity, max(0.0, self.energy + delta))

    def _add(self, name: str, total: float, phases: tuple[float, ...], dt_h: float) -> None:
        self.counters[name] += max(total, 0.0) * dt_h
        for i, value in enumerate(phases):
            self.counters[f"{name}:{i}"] += max(value, 0.0) * dt_h

    def _inverter_report(self, at: float) -> None:
        watts = self.power(at).production
        self.report_t, self.report_w = at, watts
        self.counters["inverters"] += watts * INVERTER_RATIO * REPORT_S / 3600.0

    # --- what the gateway reads -------------------------------------------------------------

    def snapshot(self, t: float | None = None) -> Snapshot:
        with self._lock:
            now = self.clock.now() if t is None else t
            self.advance(now)
            counters = dict(self.counters)
            since = self._since
            soc = self._soc()
            return Snapshot(
                t=now,
                power=self.power(now),
                counters=counters,
                today=since(counters, 1),
                last7=since(counters, 7),
                yesterday={k: self._snap(1)[k] - self._snap(2)[k] for k in counters},
                soc=soc,
                energy_wh=self.energy if self.capacity else None,
                capacity_wh=self.capacity or None,
                grid_up=self.on_grid,
                reserve_soc=self.controls.reserve_pct(),
                mains_closed=self.controls.mains_closed,
                report_t=self.report_t,
                report_w=self.report_w,
            )

    def _soc(self) -> float | None:
        return 100.0 * self.energy / self.capacity if self.capacity else None

    def energy_totals(self) -> dict[str, float]:
        """Lifetime Wh integrated up to the clock's now: production, consumption, import, export,
        charged, discharged; what a bridge integrating the live powers should come close to."""
        with self._lock:
            self.advance(self.clock.now())
            c = self.counters
            names = {"consumption": "load"}
            keys = ("production", "consumption", "import", "export", "charged", "discharged")
            return {key: c[names.get(key, key)] for key in keys}

    def _snap(self, days_back: int) -> dict[str, float]:
        """Counters at the start of the day `days_back - 1` days ago (1 = today's midnight)."""
        index = max(0, len(self.midnights) - days_back)
        return self.midnights[index][1]

    def _since(self, counters: dict[str, float], days: int) -> dict[str, float]:
        base = self._snap(days)
        return {k: counters[k] - base[k] for k in counters}

    @property
    def on_grid(self) -> bool:
        """The utility is there and the System Controller's mains relay is closed."""
        return self.grid_up and self.controls.mains_closed

    def set_grid(self, up: bool) -> None:
        self.change(lambda: setattr(self, "grid_up", up))

    def change(self, apply: Callable[[], None]) -> None:
        """Apply a change (the grid, a control) now: what happened until now happened before it.
        The controls' lock is taken after the world's, never the other way round."""
        with self._lock:
            self.advance(self.clock.now())
            with self.controls.lock:
                apply()
