"""Login lockout: how failed sign-ins lock an account, as pure arithmetic.

The settings are Redis Software's cluster settings of the same names:
`login_lockout_threshold` failures lock the account for `login_lockout_duration`
seconds (0: until an admin unlocks it), and the failure counter starts again from
zero when `login_lockout_counter_reset_after` seconds pass without a failure. The
same rule, with its own settings, throttles failed sign-ins per client address.

Stores keep one `LoginRecord` per `LoginSubject` and apply `after_failure` atomically
(a SQLite write transaction, a Redis Lua script that mirrors it), so every replica
counts the same failures. Times are seconds since the epoch: replicas share them. How
a store names a subject and writes a record (its keys, its JSON) is the store's own
business: it lives in the adapter (`adapters/*/login_attempts.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SubjectKind(StrEnum):
    """What a subject's failures are counted against."""

    USER = "user"
    """An account, by its email: failures lock the account."""
    ADDRESS = "address"
    """A client address: failures make the address wait."""


@dataclass(frozen=True, slots=True)
class LoginSubject:
    """Whose failures a record counts: an account or a client address."""

    kind: SubjectKind
    name: str


def user_subject(email: str) -> LoginSubject:
    """The subject an account's failures are counted under."""
    return LoginSubject(SubjectKind.USER, email)


def address_subject(address: str) -> LoginSubject:
    """The subject a client address's failures are counted under."""
    return LoginSubject(SubjectKind.ADDRESS, address)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """When failures lock: `threshold` 0 disables locking; `duration` 0 locks until an
    admin unlocks; `reset_after` is the quiet time that forgets earlier failures."""

    threshold: int = 5
    duration: float = 1800.0
    reset_after: float = 900.0

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.duration < 0 or self.reset_after <= 0:
            raise ValueError(
                "lockout threshold and duration must be >= 0 and the counter reset positive"
            )


DEFAULT_LOCKOUT = LockoutPolicy()
"""Redis Software's documented defaults: 5 failures lock for 30 minutes; 15 quiet
minutes reset the counter."""

DEFAULT_ADDRESS_THROTTLE = LockoutPolicy(threshold=20, duration=60.0, reset_after=60.0)
"""20 failed sign-ins from one address with less than a minute between them make that
address wait a minute."""


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """One subject's recent failures. `locked` with `locked_until` None is a lock only
    an admin lifts."""

    failures: int = 0
    last_failure: float = 0.0
    locked: bool = False
    locked_until: float | None = None


def is_locked(record: LoginRecord | None, now: float) -> bool:
    """Whether the subject is locked at `now`."""
    if record is None or not record.locked:
        return False
    return record.locked_until is None or now < record.locked_until


def after_failure(record: LoginRecord | None, now: float, policy: LockoutPolicy) -> LoginRecord:
    """The record after one more failure at `now`.

    A failure while locked changes nothing (the lock is neither extended nor
    shortened: an attacker cannot keep an account locked longer by trying harder).
    Reaching the threshold locks and zeroes the counter, so a lock that ends gives a
    fresh `threshold` attempts.
    """
    if is_locked(record, now):
        assert record is not None
        return record
    failures = 1
    if record is not None and not record.locked and now - record.last_failure < policy.reset_after:
        failures = record.failures + 1
    if policy.threshold and failures >= policy.threshold:
        until = None if policy.duration == 0 else now + policy.duration
        return LoginRecord(failures=0, last_failure=now, locked=True, locked_until=until)
    return LoginRecord(failures=failures, last_failure=now)


def expires_at(record: LoginRecord, policy: LockoutPolicy) -> float | None:
    """When the record stops mattering and a store may drop it (None: never, a lock
    only an admin lifts)."""
    if record.locked:
        return record.locked_until
    return record.last_failure + policy.reset_after


def is_current(record: LoginRecord | None, now: float, policy: LockoutPolicy) -> bool:
    """Whether the record still means something at `now`."""
    if record is None:
        return False
    end = expires_at(record, policy)
    return end is None or now < end
