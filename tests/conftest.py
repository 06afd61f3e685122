"""Fixtures shared by every tier, the hypothesis profiles, and the layer markers.

The suite runs in parallel (pytest-xdist, `-n auto`): what two tests could share by
accident (a port, a Redis key prefix, a directory) is made per worker here and in
tests/support/workers.py. docs/testing.md says what each layer tests.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.redis_server import RedisServer
from tests.support.workers import worker_id
from tests.support.world import World, standard_world

# The object stores and SFTP server (session fixtures: moto_s3, azurite, fake_gcs,
# sftp_server), for the remote location types.
pytest_plugins = ["tests.support.object_stores"]

# --- hypothesis profiles -----------------------------------------------------------------
# Example counts live here, not on the tests: `ci` is the thoroughness every CI run and
# `tox` has; `dev` is the inner loop's; `nightly` looks harder. Pick one with
# BDBEXPORT_HYPOTHESIS_PROFILE (tox passes it through; the default is `ci`). A test that
# wants more or fewer examples than its neighbours scales the profile's count
# (tests/support/thoroughness.py), so every profile still means something for it.
settings.register_profile(
    "ci", max_examples=100, stateful_step_count=30, deadline=None, print_blob=True
)
settings.register_profile("dev", max_examples=10, stateful_step_count=15, deadline=None)
settings.register_profile(
    "nightly", max_examples=1000, stateful_step_count=50, deadline=None, print_blob=True
)
settings.load_profile(os.environ.get("BDBEXPORT_HYPOTHESIS_PROFILE", "ci"))

# --- layer markers, by directory -----------------------------------------------------
# A marker given by the folder cannot be forgotten on a new file. `-m "not e2e"` and
# friends pick slices; `tox -e fast` runs what has none of these but unit, property
# and in-process integration tests (docs/testing.md).
_LAYERS = {
    "e2e": "e2e",
    "docs": "e2e",  # the docs' examples run against real `bdbexport serve` processes
    "browser": "browser",
    "faults": "faults",
}
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.relative_to(_TESTS).parts[0]
        except ValueError:
            continue
        marker = _LAYERS.get(folder)
        if marker is not None:
            item.add_marker(marker)
        if folder in ("browser", "faults"):
            item.add_marker("e2e")  # each starts real server processes too


# --- shared real servers ---------------------------------------------------------------

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server per worker; tests keep apart by key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A store URL on the worker's redis-server with a key prefix of its own (the worker
    id in it: two workers' counters both start at 1)."""
    return f"{redis_server.url}?prefix=test-{worker_id()}-{next(_prefixes)}:"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world() -> World:
    """Databases 1-6: idle, failed, succeeded, exporting, with a graph module, busy."""
    return standard_world()
