"""Authentication's ports: the users it knows and the failed sign-ins it counts.

Each docstring says what an implementation must guarantee; each port has an
in-memory implementation in `bdbexport.adapters.memory` that the tests use instead of
mocks, and a SQLite and a Redis one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from .lockout import LockoutPolicy, LoginRecord, LoginSubject
from .users import User


class UserDirectory(Protocol):
    """Users by email (exact, case-sensitive as stored). `add` refuses a taken email
    with `UserAlreadyExistsError`; `replace` stores a new record for an existing email
    (a new password or role) and returns False when there is no such user; `list`
    yields users ordered by email."""

    def get(self, email: str) -> User | None: ...

    def add(self, user: User) -> None: ...

    def replace(self, user: User) -> bool: ...

    def list(self) -> Iterator[User]: ...


class AsyncUserDirectory(Protocol):
    """`UserDirectory`'s contract, awaited (authentication on the event loop)."""

    async def get(self, email: str) -> User | None: ...

    async def add(self, user: User) -> None: ...

    def list(self) -> AsyncIterator[User]: ...


class LoginAttempts(Protocol):
    """Recent failed sign-ins per subject (`lockout.user_subject`, `address_subject`),
    shared by every process on the store.

    `record_failure` applies `lockout.after_failure` ATOMICALLY (two replicas counting
    at once never lose a failure) and returns the new record; `get` returns None for a
    subject with no record that still matters at `now`; `clear` forgets the subject
    (a successful sign-in, an admin's unlock) and says whether it held a lock.
    """

    def get(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord | None: ...

    def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord: ...

    def clear(self, subject: LoginSubject, now: float) -> bool: ...


class AsyncLoginAttempts(Protocol):
    """`LoginAttempts`' contract, awaited (sign-ins on the event loop)."""

    async def get(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord | None: ...

    async def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord: ...

    async def clear(self, subject: LoginSubject, now: float) -> bool: ...
