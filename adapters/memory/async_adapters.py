"""Async in-memory adapters: the async ports over the in-memory stores.

Each takes what its sync twin takes (`AsyncInMemoryBdbRepository([Bdb(...)])`, like
`InMemoryBdbRepository([Bdb(...)])`), or the sync store itself, whose data it then
shares: an application can hold a sync and an async view of the same data, as our
server does (requests on the event loop use the async view, export workers in threads
the sync one). A dict lookup never blocks, so each call runs inline, reads with no
runner at all (`bdbexport.domain.async_ports`): these are real implementations of the
contracts, not stand-ins. Anything else is refused at construction, with the form that works.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from bdbexport.domain.async_ports import (
    AsyncBdbRepositoryOver,
    AsyncModuleCatalogOver,
)
from bdbexport.domain.auth.async_ports import AsyncUserDirectoryOver
from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.modules import CatalogModule

from .bdb_repository import InMemoryBdbRepository
from .module_catalog import InMemoryModuleCatalog
from .user_directory import InMemoryUserDirectory

Item = TypeVar("Item")


def checked(owner: str, given: Iterable[Item], item: type[Item]) -> list[Item]:
    """The items of `given`, each an `item`, or a TypeError that shows the right call."""
    if isinstance(given, item):  # one model (pydantic models iterate over their fields)
        raise TypeError(
            f"{owner}() takes an iterable of {item.__name__}, e.g."
            f" {owner}([{item.__name__}(...)]), not one {item.__name__}"
        )
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise TypeError(
            f"{owner}() takes an iterable of {item.__name__} (as its sync twin does) or the"
            f" sync store to share, not {type(given).__name__}"
        )
    items = list(given)
    for found in items:
        if not isinstance(found, item):
            raise TypeError(
                f"{owner}() takes {item.__name__} objects, not {type(found).__name__}:"
                f" e.g. {owner}([{item.__name__}(...)])"
            )
    return items


class AsyncInMemoryBdbRepository(AsyncBdbRepositoryOver[InMemoryBdbRepository]):
    def __init__(self, bdbs: Iterable[Bdb] | InMemoryBdbRepository = ()) -> None:
        if not isinstance(bdbs, InMemoryBdbRepository):
            bdbs = InMemoryBdbRepository(checked(type(self).__name__, bdbs, Bdb))
        super().__init__(bdbs, reads=bdbs)


class AsyncInMemoryModuleCatalog(AsyncModuleCatalogOver[InMemoryModuleCatalog]):
    def __init__(self, modules: Iterable[CatalogModule] | InMemoryModuleCatalog = ()) -> None:
        if not isinstance(modules, InMemoryModuleCatalog):
            modules = InMemoryModuleCatalog(checked(type(self).__name__, modules, CatalogModule))
        super().__init__(modules, reads=modules)


class AsyncInMemoryUserDirectory(AsyncUserDirectoryOver[InMemoryUserDirectory]):
    def __init__(self, users: Iterable[User] | InMemoryUserDirectory = ()) -> None:
        if not isinstance(users, InMemoryUserDirectory):
            users = InMemoryUserDirectory(checked(type(self).__name__, users, User))
        super().__init__(users, reads=users)
