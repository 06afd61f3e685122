from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.http import HttpWorld, make_http_world


@pytest.fixture
def http_world() -> HttpWorld:
    return make_http_world()


@pytest.fixture
async def client(http_world: HttpWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with http_world.client() as client:
        yield client
