"""`Claims` in memory: for tests, demos and a single process; a lock makes each
claim one atomic step among threads."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bdbexport.domain.ports import Clock

from .clock import SystemClock


class InMemoryClaims:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._claims: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def claim(self, name: str, holder: str, ttl: timedelta) -> bool:
        now = self._clock.now()
        with self._lock:
            for stale in [key for key, (_, expires) in self._claims.items() if expires <= now]:
                del self._claims[stale]
            if name in self._claims:
                return False
            self._claims[name] = (holder, now + ttl)
            return True

    def holder(self, name: str) -> str | None:
        """Who holds `name` now, if anyone (for tests and people)."""
        now = self._clock.now()
        with self._lock:
            held = self._claims.get(name)
            return held[0] if held is not None and held[1] > now else None
