"""In-memory adapters: real implementations of every port, for tests, demos and embedders.

They keep the same contracts as the durable stores (compare-and-set, uid order,
thread safety), so a test that passes against them says something true.
"""

from .async_adapters import (
    AsyncInMemoryBdbRepository,
    AsyncInMemoryModuleCatalog,
    AsyncInMemoryUserDirectory,
)
from .bdb_repository import InMemoryBdbRepository
from .clock import ManualClock, SystemClock
from .event_log import InMemoryEventLog
from .ids import SequentialIds, UuidIds
from .module_catalog import InMemoryModuleCatalog
from .user_directory import InMemoryUserDirectory

__all__ = [
    "AsyncInMemoryBdbRepository",
    "AsyncInMemoryModuleCatalog",
    "AsyncInMemoryUserDirectory",
    "InMemoryBdbRepository",
    "InMemoryEventLog",
    "InMemoryModuleCatalog",
    "InMemoryUserDirectory",
    "ManualClock",
    "SequentialIds",
    "SystemClock",
    "UuidIds",
]
