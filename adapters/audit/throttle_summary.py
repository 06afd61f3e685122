"""Throttled sign-ins audited as one summary line per address and interval.

A refused sign-in is worth a line of its own while it says something new: a wrong
password, a locked account. Once an address is throttled, each further attempt says
only "still throttled", and writing one line each let ~80k unauthenticated requests put
30 MB in the audit log (docs/security.md). `ThrottleSummaries` stands in front of the
audit trail: every event passes through at once except `LoginFailed` with reason
`throttled`, which is counted per client address; at the end of each interval one
`LoginsThrottled` line per address tells how many attempts were refused, from when to
when, and how many distinct names they tried (never the names: a flood of guesses
must not become a list of user names in the log).

The interval runs on a timer thread of its own, started with the first throttled
attempt of an interval and gone once there is nothing to tell; `close` writes what is
pending (at shutdown, before the logs close).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from bdbexport.domain.auth.events import AuthenticationEvent, LoginFailed
from bdbexport.domain.events import DomainEvent

DEFAULT_SUMMARY_INTERVAL = 60.0
"""Seconds of throttled attempts one summary line covers."""


@dataclass(slots=True, kw_only=True)
class LoginsThrottled(AuthenticationEvent):
    """`attempts` sign-ins from `client` refused as throttled between `first` and `at`
    (ISO 8601), trying `distinct_names` different user names."""

    outcome: ClassVar[str] = "refused"

    attempts: int = 0
    distinct_names: int = 0
    first: str = ""


@dataclass(slots=True)
class _Tally:
    first: datetime
    last: datetime
    attempts: int
    names: set[str]


class ThrottleSummaries:
    def __init__(
        self,
        publish: Callable[[DomainEvent], None],
        *,
        interval: float = DEFAULT_SUMMARY_INTERVAL,
    ) -> None:
        if interval <= 0:
            raise ValueError("the throttle summary interval must be positive")
        self._publish = publish
        self._interval = interval
        self._lock = threading.Lock()
        self._tallies: dict[str, _Tally] = {}
        self._timer: threading.Timer | None = None

    def publish(self, event: DomainEvent) -> None:
        if not (isinstance(event, LoginFailed) and event.reason == "throttled"):
            self._publish(event)
            return
        client = event.client or "unknown"
        with self._lock:
            tally = self._tallies.get(client)
            if tally is None:
                self._tallies[client] = _Tally(event.at, event.at, 1, {event.actor})
            else:
                tally.last = event.at
                tally.attempts += 1
                if len(tally.names) < 10_000:  # a count, bounded in memory
                    tally.names.add(event.actor)
            if self._timer is None:
                self._timer = threading.Timer(self._interval, self._on_timer)
                self._timer.name = "bdbexport-throttle-summary"
                self._timer.daemon = True
                self._timer.start()

    __call__ = publish

    def flush(self) -> None:
        """Write one summary line per address counted since the last flush."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        for client, tally in tallies.items():
            self._publish(
                LoginsThrottled(
                    actor="(throttled)",
                    uid=None,
                    at=tally.last.astimezone(UTC),
                    client=client,
                    attempts=tally.attempts,
                    distinct_names=len(tally.names),
                    first=tally.first.astimezone(UTC).isoformat(),
                )
            )

    def close(self) -> None:
        """Write what is pending now (at shutdown, before the logs close)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()
