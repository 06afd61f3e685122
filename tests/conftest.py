"""Fixtures shared by every tier."""

from __future__ import annotations

import pytest

from tests.support.world import World, standard_world


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world() -> World:
    """Databases 1-6: idle, failed, succeeded, exporting, with a graph module, busy."""
    return standard_world()
