"""Progress that reaches the store at a bounded rate: on a whole percent *and* at least
`interval` after the last report, so a large export does not write per chunk.

It also asks now and then while nothing moves (`poke`, at most every `poll` seconds):
the worker pool answers a report by raising when the export is no longer wanted
(cancelled, no longer the bdb's action, shutdown), so an export waiting on a slow
source still learns it must stop within about `poll` seconds. An unchanged percent
costs a read, not a write (the domain stores nothing for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressThrottle:
    def __init__(
        self, report: Callable[[int], None], *, interval: float = 0.25, poll: float = 1.0
    ) -> None:
        self._report = report
        self._interval = interval
        self._poll = poll
        self._last_percent = 0
        self._last_at = time.monotonic()

    def update(self, fraction: float) -> None:
        """`fraction` of the work done; reported as a percent below 100 (100 is for
        success, which only the end of the export may claim)."""
        percent = min(int(fraction * 100), 99)
        now = time.monotonic()
        if percent > self._last_percent and now - self._last_at >= self._interval:
            self._last_percent, self._last_at = percent, now
            self._report(percent)
        elif now - self._last_at >= self._poll:
            self.poke()

    def started(self) -> None:
        """The work proper has begun (for an export: the source started sending its
        snapshot): reported at once as 1 %, the percent that ends the wait before it,
        which readers show as "waiting for the source" (an action `starting`)."""
        if self._last_percent < 1:
            self._last_percent, self._last_at = 1, time.monotonic()
            self._report(1)

    def poke(self) -> None:
        """Report the same percent again if `poll` seconds passed since the last
        report: the chance for the worker to say the export is no longer wanted."""
        now = time.monotonic()
        if now - self._last_at >= self._poll:
            self._last_at = now
            self._report(self._last_percent)
