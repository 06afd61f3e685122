"""The work queue's figures in `/metrics`, read from the store (docs/workers.md).

They are kept in the store, so every replica reports the same: queue depth by kind,
running items, workers alive, and the counters since the store began (claims, retries,
lapsed leases, releases by draining workers, completions). A scrape must not wait on
the store (it runs on the event loop), so a thread of its own reads them every
`every` seconds and the collector reports the last reading.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bdbexport.domain.work_queue import COUNTERS, QueueStats, WorkQueue

log = logging.getLogger("bdbexport.workers")

READ_EVERY = 5.0


class QueueMetrics(Collector):
    def __init__(self, queue: WorkQueue, *, every: float = READ_EVERY) -> None:
        self._queue = queue
        self._every = every
        self._stats: QueueStats | None = None
        self._workers = 0
        self._stop = threading.Event()
        self._reader = threading.Thread(
            target=self._read, name="bdbexport-queue-metrics", daemon=True
        )

    def start(self, registry: CollectorRegistry) -> QueueMetrics:
        registry.register(self)
        self._reader.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._reader.join(5)

    def _read(self) -> None:
        while True:
            try:
                self._stats = self._queue.stats()
                self._workers = len(self._queue.workers())
            except Exception as error:  # the store away: the last reading stays
                log.warning("reading the queue's figures failed: %s", error)
            if self._stop.wait(self._every):
                return

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self._stats
        if stats is None:
            return
        queued = GaugeMetricFamily(
            "bdbexport_queue_depth", "Actions waiting in the work queue, by kind.", labels=["kind"]
        )
        for kind, count in sorted(stats.queued.items()):
            queued.add_metric([kind], count)
        yield queued
        yield GaugeMetricFamily(
            "bdbexport_queue_running", "Actions claimed by a worker and not ended.", stats.running
        )
        yield GaugeMetricFamily(
            "bdbexport_queue_workers", "Workers that heart-beat lately.", self._workers
        )
        for name in COUNTERS:
            yield CounterMetricFamily(
                f"bdbexport_queue_{name}",
                f"Work queue {name} since the store began (all workers).",
                stats.counters.get(name, 0),
            )
