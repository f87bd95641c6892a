"""The controls' event, part of the Director's: the Enlighten cloud reverting the storage
settings set locally (reference §1.1.5), at once or after every local write.

    sim.trigger("storage_mode_revert")                  # now
    sim.schedule("storage_mode_revert:after_s=60")      # every local change, a minute later
"""

from __future__ import annotations

from bridge.simulator.clock import SimClock
from bridge.simulator.controls import Controls
from bridge.simulator.living import LivingSource
from bridge.simulator.source import Source


class ControlEvents:
    """`do_<event>` runs an event; `check_<event>` vets its values before it is scheduled."""

    clock: SimClock

    def _source(self) -> Source:
        raise NotImplementedError  # the Director says which source it drives

    def _controlled(self) -> LivingSource | None:
        source = self._source()
        return source if isinstance(source, LivingSource) else None

    def do_storage_mode_revert(self, after_s: float | None = None) -> None:
        """Without `after_s`, the storage settings go back to the scenario's now, with a new tariff
        date; with it, every later local write that changes them is reverted `after_s` real
        seconds after it (until `clear`)."""
        source = self._controlled()
        if source is None:
            raise ValueError("storage_mode_revert needs a living scenario, not a capture")
        controls = source.world.controls
        if after_s is not None:
            controls.revert_after_s = float(after_s)
            return
        date = str(int(self.clock.now()))
        source.world.change(lambda: controls.revert_storage(date))

    def check_storage_mode_revert(self, after_s: float | None = None) -> None:
        if after_s is not None and (not isinstance(after_s, (int, float)) or after_s < 0):
            raise ValueError("storage_mode_revert: after_s must be a number of seconds >= 0")

    def revert_due(self, real_now: float) -> bool:
        source = self._controlled()
        return source is not None and source.world.controls.revert_is_due(real_now)

    def stop_reverting(self) -> None:
        source = self._controlled()
        if source is not None:
            controls: Controls = source.world.controls
            controls.revert_after_s = controls.revert_due = None
