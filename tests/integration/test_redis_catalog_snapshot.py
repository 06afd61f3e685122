"""The async Redis catalog serves a snapshot; a change elsewhere reaches it within 1 s.

Two connections on one real redis-server stand for two replicas (docs/performance.md:
the catalog's staleness bound).
"""

from __future__ import annotations

import asyncio
import time

from bdbexport.adapters.redis_store import (
    AsyncRedisConnection,
    AsyncRedisModuleCatalog,
    RedisConnection,
    RedisModuleCatalog,
)
from bdbexport.domain.modules import CatalogModule

BOUND = 1.0


async def _seen_within(catalog: AsyncRedisModuleCatalog, version: str) -> float:
    """Seconds until `catalog` reads `version` of search (bounded at twice the bound)."""
    started = time.monotonic()
    while time.monotonic() - started < 2 * BOUND:
        entry = await catalog.get("search")
        if entry is not None and entry.semantic_version == version:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    return float("inf")


def test_a_change_on_another_replica_is_seen_within_a_second(redis_url: str) -> None:
    url = redis_url

    async def main() -> float:
        here, there = AsyncRedisConnection(url), AsyncRedisConnection(url)
        try:
            mine, theirs = AsyncRedisModuleCatalog(here), AsyncRedisModuleCatalog(there)
            await theirs.add(CatalogModule(module_name="search", semantic_version="1.0"))
            assert (await mine.get("search")) == CatalogModule(
                module_name="search", semantic_version="1.0"
            )
            await theirs.add(CatalogModule(module_name="search", semantic_version="2.0"))
            return await _seen_within(mine, "2.0")
        finally:
            await here.aclose()
            await there.aclose()

    assert asyncio.run(main()) < BOUND


def test_a_change_through_the_sync_view_is_seen_within_a_second(redis_url: str) -> None:
    url = redis_url
    sync = RedisConnection(url)

    async def main() -> float:
        connection = AsyncRedisConnection(url)
        try:
            catalog = AsyncRedisModuleCatalog(connection)
            assert await catalog.get("search") is None  # the snapshot is now loaded
            RedisModuleCatalog(sync).add(
                CatalogModule(module_name="search", semantic_version="3.1")
            )
            return await _seen_within(catalog, "3.1")
        finally:
            await connection.aclose()

    try:
        assert asyncio.run(main()) < BOUND
    finally:
        sync.close()


def test_a_change_here_is_seen_here_at_once(redis_url: str) -> None:
    async def main() -> None:
        connection = AsyncRedisConnection(redis_url)
        try:
            catalog = AsyncRedisModuleCatalog(connection)
            assert await catalog.get("search") is None
            await catalog.add(CatalogModule(module_name="search", semantic_version="1.2"))
            entry = await catalog.get("search")
            assert entry is not None
            assert entry.semantic_version == "1.2"
        finally:
            await connection.aclose()

    asyncio.run(main())
