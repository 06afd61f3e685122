"""The asynchronous view of a synchronous user directory (in-memory, SQLite): the
authentication context's part of `domain/async_over.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from bdbexport.domain.async_over import Over

from .ports import UserDirectory
from .users import User

U = TypeVar("U", bound=UserDirectory)


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
