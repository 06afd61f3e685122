"""Import progress as the `Importer` port promises it: never decreasing, below 100
until the end, reported on each new percent at most every `interval` seconds, and at
least every `keepalive` seconds even when the percent stands still, so a caller that
cancels by raising from `progress` is heard within that time."""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressReporter:
    def __init__(
        self, report: Callable[[int], None], *, interval: float = 0.25, keepalive: float = 1.0
    ) -> None:
        self._report = report
        self._interval = interval
        self._keepalive = keepalive
        self._percent = 0
        self._at = time.monotonic()

    def phase(self, start: int, end: int, fraction: float) -> None:
        """`fraction` (0 to 1) of the phase spanning `start` to `end` percent is done."""
        self.at(start + (end - start) * min(max(fraction, 0.0), 1.0))

    def at(self, percent: float) -> None:
        whole = max(self._percent, min(int(percent), 99))
        now = time.monotonic()
        elapsed = now - self._at
        if (whole > self._percent and elapsed >= self._interval) or elapsed >= self._keepalive:
            self._percent, self._at = whole, now
            self._report(whole)

    def publishing(self) -> None:
        """Every key is in: ask to keep them (`progress(100)`, the port's commit gate);
        raises when the import was cancelled first, and the caller undoes."""
        self._percent, self._at = 100, time.monotonic()
        self._report(100)
