"""The cloud API's request budget over a simulated month (no network, a few seconds):

    python bench/cloud_api.py

The real cloud worker, schedule and request budget on a fake clock, against a stand-in API that
answers what the free Watt plan answers (tests/support/cloud_month.py). One line per mode: the
most calls on one simulated day, the month's calls, and the plan's limit.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `bridge` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.cloud_month import simulate_month


def main() -> int:
    for mode in ("only", "complement"):
        run = simulate_month(mode)
        print(
            f"cloud API calls per simulated day {run.max_per_day}, per month {run.month_calls}, "
            f"plan limit {run.source.budget.limits.per_month} ({mode} mode, Watt plan: "
            f"{', '.join(f'{name} {n}' for name, n in sorted(run.source.calls.items()))})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
