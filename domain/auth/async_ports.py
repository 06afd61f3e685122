"""The asynchronous views of a synchronous user directory and of synchronous login
attempts (in-memory, SQLite): the authentication context's part of `domain/async_over.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from bdbexport.domain.async_over import Over

from .lockout import LockoutPolicy, LoginRecord, LoginSubject
from .ports import LoginAttempts, UserDirectory
from .users import User

U = TypeVar("U", bound=UserDirectory)
L = TypeVar("L", bound=LoginAttempts)


class AsyncUserDirectoryOver(Over[U]):
    """`AsyncUserDirectory` (with `replace`) over the sync directory `sync`."""

    async def get(self, email: str) -> User | None:
        return await self._read(lambda store: store.get(email))

    async def add(self, user: User) -> None:
        await self._run(lambda: self.sync.add(user))

    async def replace(self, user: User) -> bool:
        return await self._run(lambda: self.sync.replace(user))

    def list(self) -> AsyncIterator[User]:
        return self._listed(lambda store: store.list())


class AsyncLoginAttemptsOver(Over[L]):
    """`AsyncLoginAttempts` over the sync port `sync`: one source for both views."""

    async def get(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord | None:
        return await self._read(lambda store: store.get(subject, now, policy))

    async def record_failure(
        self, subject: LoginSubject, now: float, policy: LockoutPolicy
    ) -> LoginRecord:
        return await self._run(lambda: self.sync.record_failure(subject, now, policy))

    async def clear(self, subject: LoginSubject, now: float) -> bool:
        return await self._run(lambda: self.sync.clear(subject, now))
