"""A worker process's wiring: the use cases over the store, the exporter and importer
the worker was told to use, and the store's work queue (docs/workers.md).

The use cases come from `bootstrap`, as for `serve`, so a worker reports through the
same lifecycle, action records and events; the exporter and importer are the ones
`bootstrap` chose (same roots, egress policy and remote location settings), not a
second construction that could drift from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from bdbexport.adapters.exporting.partials import PartialSweeper
from bdbexport.adapters.exporting.queue_worker import QueueWorker, WorkerSettings
from bdbexport.adapters.exporting.work_payload import Job
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.memory import SystemClock
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.core import DEFAULT_LEASE_TTL

from .application import bootstrap
from .work_queues import open_work_queue


def build_worker(
    store_url: str,
    settings: WorkerSettings,
    *,
    exporter: str = "rdb",
    importer: str = "rdb",
    simulated_duration: float = 5.0,
    simulated_outcome: str = "succeed",
    import_limits: ImportLimits | None = None,
    export_roots: Sequence[Path] = (),
    allow_egress: Sequence[str] = (),
    export_timeout: float = 30.0,
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    remote_settings: RemoteSettings | None = None,
    wake_reader: int | None = None,
    log_line: Callable[[dict[str, object]], None] = lambda line: None,
) -> tuple[QueueWorker, Callable[[], None]]:
    """The worker over `store_url` and how to close what it opened. Its exporter and
    importer are the ones `bootstrap` builds from these settings (roots, egress,
    `remote_settings` for s3, abs and sftp), as `serve` does: one wiring."""
    application = bootstrap(
        store_url,
        exporter=exporter,
        importer=importer,
        simulated_duration=simulated_duration,
        simulated_outcome=simulated_outcome,
        import_limits=import_limits,
        export_roots=export_roots,
        allow_egress=allow_egress,
        export_timeout=export_timeout,
        lease_ttl=lease_ttl,
        remote_settings=remote_settings,
        max_concurrent_exports=1,
    )
    application.prepare_exports()
    assert application.exporter is not None  # bootstrap always chooses one
    sweeper = application.sweeper
    queue, close_queue = open_work_queue(store_url, SystemClock(), wake_reader=wake_reader)
    worker = QueueWorker(
        queue,
        application.service,
        application.exporter,
        application.importer,
        settings,
        log_line=log_line,
        before_retry=None if sweeper is None else _remover(sweeper),
        keep_alive=None if sweeper is None else sweeper.keep_alive,
    )

    def close() -> None:
        close_queue()
        application.close(grace=0)

    return worker, close


def _remover(sweeper: PartialSweeper) -> Callable[[Job], list[str]]:
    def remove(job: Job) -> list[str]:
        return sweeper.remove_partials(job.bdb_uid, job.action_uid, job.location)

    return remove
