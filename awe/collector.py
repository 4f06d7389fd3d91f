"""Python's garbage collector, kept from stopping the server for seconds at a time.

CPython's collector looks at every container object of the oldest generation in a full
collection, and starts one whenever a quarter more objects have reached it since the last.
A server holding 10,000 workers' connections keeps about a million such objects (~85 per
worker: its stream, its connection, its waiting checkout), and a waiting checkout's objects
live seconds, long enough to reach the oldest generation: with the collector's defaults
that was a full collection every 2-3 s, 0.6 s each (up to 2 s), which alone kept heartbeats
seconds late (bench/README.md).

So objects that have lived a second are moved out of the collector's sight (`gc.freeze`):
young ones are still collected as usual, and an object whose last reference goes is freed
as always. Only garbage held in a reference cycle that became garbage after it was frozen
waits: the hot paths make almost none (a stopped job actor is freed without the collector,
awe/actors/base.py; a 2,000-worker fleet left ~500 such objects a minute). Once the frozen
objects have doubled since the last full collection, and not sooner than `min_interval_s`
after it, they are all looked at again in one full collection (0.7 s at 10,000 workers):
growth by a quarter, the collector's own rule, is within what 10,000 waiting checkouts come
and go by, and a ramp of workers doubles them several times in a minute.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

FREEZE_EVERY_S = 1.0


class FrozenGenerations:
    """Call `tick()` every FREEZE_EVERY_S (the IOLoop does); `start()` once serving."""

    def __init__(
        self, growth: float = 1.0, floor: int = 200_000, min_interval_s: float = 600.0
    ) -> None:
        self._growth = growth  # a full collection once frozen objects grew by this much
        self._floor = floor  # ... and at least by this many
        self._min_interval_s = min_interval_s
        self._base = 0
        self._last = 0.0

    def start(self) -> None:
        gc.collect()
        gc.freeze()  # what start-up made (modules, recovered jobs) is never garbage
        self._base, self._last = gc.get_freeze_count(), time.monotonic()

    def tick(self) -> None:
        gc.freeze()  # cheap: one list joined to another
        if time.monotonic() - self._last < self._min_interval_s:
            return
        frozen = gc.get_freeze_count()  # a walk over every frozen object: not every second
        self._last = time.monotonic()
        if frozen > max(self._base * (1 + self._growth), self._base + self._floor):
            self.collect_all()

    def collect_all(self) -> int:
        """One full collection of everything (frozen too); the objects it freed."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        self._base, self._last = gc.get_freeze_count(), time.monotonic()
        log.info("full garbage collection: %d objects kept, %d freed, %.0f ms",
                 self._base, found, 1000 * (time.perf_counter() - started))  # fmt: skip
        return found
