"""Fixtures shared by every tier."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.support.redis_server import RedisServer
from tests.support.world import World, standard_world

# The object stores and SFTP server (session fixtures: moto_s3, azurite, fake_gcs,
# sftp_server), for the remote location types.
pytest_plugins = ["tests.support.object_stores"]

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session; tests keep apart by key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A store URL on the session's redis-server with a key prefix of its own."""
    return f"{redis_server.url}?prefix=test{next(_prefixes)}:"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world() -> World:
    """Databases 1-6: idle, failed, succeeded, exporting, with a graph module, busy."""
    return standard_world()
