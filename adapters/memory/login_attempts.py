"""`LoginAttempts` in a dict: one process's view (tests, `memory://` stores)."""

from __future__ import annotations

import threading

from bdbexport.domain.auth.async_ports import AsyncLoginAttemptsOver
from bdbexport.domain.auth.lockout import (
    LockoutPolicy,
    LoginRecord,
    LoginSubject,
    after_failure,
    is_current,
)


class InMemoryLoginAttempts:
    def __init__(self) -> None:
        self._records: dict[LoginSubject, LoginRecord] = {}
        self._lock = threading.Lock()

    def get(self, subject: LoginSubject, now: float, policy: LockoutPolicy) -> LoginRecord | None:
        record = self._records.get(subject)
        return record if is_current(record, now, policy) else None

    def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        with self._lock:
            record = after_failure(self._records.get(subject), now, policy)
            self._records[subject] = record
            if len(self._records) > 100_000:
                # Bounded: forget what no longer matters at the current policy.
                for key, kept in list(self._records.items()):
                    if not is_current(kept, now, policy):
                        del self._records[key]
            return record

    def clear(self, subject: LoginSubject, now: float) -> bool:
        with self._lock:
            record = self._records.pop(subject, None)
        return (
            record is not None
            and record.locked
            and (record.locked_until is None or now < record.locked_until)
        )


class AsyncInMemoryLoginAttempts(AsyncLoginAttemptsOver[InMemoryLoginAttempts]):
    """The same records, awaited: nothing here ever waits."""

    def __init__(self, attempts: InMemoryLoginAttempts | None = None) -> None:
        attempts = attempts if attempts is not None else InMemoryLoginAttempts()
        super().__init__(attempts, reads=attempts)

    @property
    def attempts(self) -> InMemoryLoginAttempts:
        """The synchronous records this view shares."""
        return self.sync
