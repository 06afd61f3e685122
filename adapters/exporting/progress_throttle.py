"""Progress that reaches the store at a bounded rate: on a whole percent *and* at least
`interval` after the last report, so a large export does not write per chunk."""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressThrottle:
    def __init__(self, report: Callable[[int], None], *, interval: float = 0.25) -> None:
        self._report = report
        self._interval = interval
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
