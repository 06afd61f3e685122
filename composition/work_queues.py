"""The `WorkQueue` of a store, from its URL: part of the composition root.

The queue lives on the store's engine, so every process sharing the store shares the
queue: the `work_queue` table of the SQLite file, `<prefix>wq:*` keys in Redis. A
`memory://` store keeps it in this process, where its worker runs in-process
(docs/workers.md).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from bdbexport.adapters.http.queue_metrics import QueueMetrics
from bdbexport.adapters.memory import SystemClock
from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.domain.ports import Clock
from bdbexport.domain.work_queue import WorkQueue

from .stores import StoreUrlError, _sqlite_path


def open_work_queue(
    url: str,
    clock: Clock | None = None,
    *,
    wake_reader: int | None = None,
    wake_writer: int | None = None,
    registry: CollectorRegistry | None = None,
) -> tuple[WorkQueue, Callable[[], None]]:
    """The store's work queue and how to close its connection. `clock`: None, the
    system's. The wake pipe ends are for SQLite only: `serve` writes after each enqueue,
    its worker child reads. With `registry`, the queue's figures are reported in it
    (`/metrics`) until the queue is closed."""
    queue, close = _open(
        url, clock if clock is not None else SystemClock(), wake_reader, wake_writer
    )
    if registry is None:
        return queue, close
    figures = QueueMetrics(queue).start(registry)

    def close_reported() -> None:
        figures.stop()
        close()

    return queue, close_reported


def _open(
    url: str, clock: Clock, wake_reader: int | None, wake_writer: int | None
) -> tuple[WorkQueue, Callable[[], None]]:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return InMemoryWorkQueue(clock), _noop
    if scheme == "sqlite":
        from bdbexport.adapters.sqlite.work_queue import SqliteWorkQueue

        queue = SqliteWorkQueue(
            _sqlite_path(url), clock, wake_reader=wake_reader, wake_writer=wake_writer
        )
        return queue, queue.close
    if scheme in {"redis", "rediss"}:
        from bdbexport.adapters.redis_store import RedisConnection
        from bdbexport.adapters.redis_store.work_queue import RedisWorkQueue

        connection = RedisConnection(url)
        return RedisWorkQueue(connection), connection.close
    raise StoreUrlError(f"Unsupported store URL {url!r}.")


def _noop() -> None:
    return None
