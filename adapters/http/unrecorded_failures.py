"""Failed sign-ins the store would not record, held until it takes them (issue 22, 2).

Lockout only works if every wrong guess is counted. When the store refuses a write (a
Redis at its memory limit, a SQLite file another process holds locked, a full disk)
the failure is kept here instead of being lost, and no password is checked again
until the store has taken every held failure: a sign-in that needs a password
verified is refused with `StoreUnavailableError` (503 with `Retry-After`) before the
KDF runs, so an attacker who can make the store refuse writes gets no free guesses,
and the right password after N unrecorded wrong ones waits for those N to be written
(and for the lock they may cause). Credentials already proven keep working: an outage
of the store's writes is not an outage of the API.

The held failures live in this process: another replica of the same store counts
only what it saw itself, and a restart forgets them (the guesses they stand for were
all answered 503, never "right" or "wrong" beyond the first).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

from bdbexport.domain.auth.lockout import LockoutPolicy, LoginRecord, LoginSubject
from bdbexport.domain.auth.ports import AsyncLoginAttempts
from bdbexport.domain.errors import StoreUnavailableError

MAX_HELD = 4096
"""Failures held at most. Only checks already past the gate when the store began to
refuse can add one, so a few are held in practice; beyond this the oldest go."""

REFUSED = "failed sign-ins cannot be recorded now, so no password is checked until they can"

RETRY_AFTER = 1.0
"""Seconds after a refused write before the held failures are tried again: meanwhile a
sign-in is refused at once instead of waiting out the store's own bound (a SQLite
lock is waited for up to 2 s) each time."""


class UnrecordedFailures:
    def __init__(self, attempts: AsyncLoginAttempts, clock: Callable[[], float]) -> None:
        self._attempts = attempts
        self._clock = clock
        self._held: deque[tuple[LoginSubject, LockoutPolicy]] = deque(maxlen=MAX_HELD)
        self._next_try = -math.inf

    def __len__(self) -> int:
        return len(self._held)

    async def record(
        self, failures: Sequence[tuple[LoginSubject, LockoutPolicy]]
    ) -> list[LoginRecord]:
        """Count one failure of each (subject, policy), in order; if the store refuses
        one, it and the rest are held and `StoreUnavailableError` is raised."""
        records: list[LoginRecord] = []
        for index, (subject, policy) in enumerate(failures):
            try:
                records.append(await self._attempts.record_failure(subject, self._clock(), policy))
            except StoreUnavailableError:
                self._held.extend(failures[index:])
                self._next_try = time.monotonic() + RETRY_AFTER
                raise
        return records

    async def write_held(self) -> None:
        """Write every held failure (each counted now, so a lock it causes lasts its
        whole duration); `StoreUnavailableError` while the store still refuses (at
        once, without asking it, within `RETRY_AFTER` of its last refusal)."""
        if self._held and time.monotonic() < self._next_try:
            raise StoreUnavailableError(REFUSED)
        while self._held:
            subject, policy = self._held[0]
            try:
                await self._attempts.record_failure(subject, self._clock(), policy)
            except StoreUnavailableError as error:
                self._next_try = time.monotonic() + RETRY_AFTER
                raise StoreUnavailableError(REFUSED) from error
            self._held.popleft()
