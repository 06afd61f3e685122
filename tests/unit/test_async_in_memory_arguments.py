"""The async in-memory adapters take what their sync twins take (issue 27: written like
the sync README example, `AsyncInMemoryBdbRepository([Bdb(...)])` was accepted and
failed only at the first await), or the sync store to share; anything else is refused
when the adapter is made, with the call that works."""

from __future__ import annotations

import asyncio

import pytest

from bdbexport.adapters.memory import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
    InMemoryBdbRepository,
)
from bdbexport.domain import Bdb, CatalogModule, User


async def listed(repository: AsyncInMemoryBdbRepository) -> list[int]:
    return [bdb.uid async for bdb in repository.list()]


def test_the_async_adapters_take_what_the_sync_ones_take() -> None:
    bdbs = AsyncInMemoryBdbRepository([Bdb(uid=2, name="b"), Bdb(uid=1, name="a")])
    search = CatalogModule(module_name="search", semantic_version="1.0")
    modules = AsyncInMemoryModuleCatalog([search])
    users = AsyncInMemoryUserDirectory(
        [User(email="ann@example.com", password_hash="x", role="admin")]
    )
    assert asyncio.run(listed(bdbs)) == [1, 2]
    assert asyncio.run(modules.get("search")) == search
    found = asyncio.run(users.get("ann@example.com"))
    assert found is not None
    assert found.role == "admin"


def test_given_the_sync_store_the_async_adapter_shares_its_data() -> None:
    sync = InMemoryBdbRepository([Bdb(uid=1, name="a")])
    view = AsyncInMemoryBdbRepository(sync)
    asyncio.run(view.add(Bdb(uid=2, name="b")))
    assert [bdb.uid for bdb in sync.list()] == [1, 2]
    assert view.sync is sync


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (Bdb(uid=1, name="one"), r"takes an iterable of Bdb, e\.g\. AsyncInMemoryBdbRepository"),
        ([{"uid": 1, "name": "a dict"}], "takes Bdb objects, not dict"),
        ("orders", "takes an iterable of Bdb .* not str"),
        (7, "takes an iterable of Bdb .* not int"),
    ],
)
def test_anything_else_is_refused_at_construction(given: object, says: str) -> None:
    with pytest.raises(TypeError, match=says):
        AsyncInMemoryBdbRepository(given)  # type: ignore[arg-type]
