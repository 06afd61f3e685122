"""Composition for running the use cases in this process on a store: what the CLI's
local mode uses. Kept apart from `composition` so that embedding the domain with the
in-memory adapters never imports a store driver."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.export_service import ExportService
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import Clock, EventPublisher, Exporter

from .composition import build_service
from .exporting import ExportWorkerPool, RdbExporter, SimulatedExporter
from .memory import UuidIds
from .stores import Store


def build_store_service(
    store: Store, *, events: EventPublisher | None = None, clock: Clock | None = None
) -> ExportService:
    """The use cases over a store's repositories, with the built-in roles."""
    return build_service(
        bdbs=store.bdbs, modules=store.modules, events=events, clock=clock, ids=UuidIds()
    )


def run_export_here(
    service: ExportService,
    started: Bdb,
    location: ExportLocation,
    *,
    exporter: Exporter,
    read_progress: Callable[[], int | None],
    on_progress: Callable[[int], None],
    poll: float = 0.1,
) -> None:
    """Run an export `start_export` just began in this process, in the foreground,
    through the same worker pool the server uses; returns when it has ended.

    Ctrl-C stops it like a server shutdown would: recorded as failed, never left
    `exporting`.
    """
    stopping = threading.Event()
    pool = ExportWorkerPool(service, exporter, max_concurrent=1, stopping=stopping)
    pool.submit(started, location)
    try:
        while pool.running():
            stopping.wait(poll)
            progress = read_progress()
            if progress is not None:
                on_progress(progress)
    except KeyboardInterrupt:
        stopping.set()
        raise
    finally:
        pool.shutdown(grace=0 if stopping.is_set() else 1.0)


def choose_exporter(name: str, simulated_duration: float = 5.0) -> Exporter:
    """`rdb`: a real snapshot of the bdb's Redis endpoint; `simulated`: copies nothing."""
    if name == "rdb":
        return RdbExporter()
    return SimulatedExporter(duration=simulated_duration)
