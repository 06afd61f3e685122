"""Where `serve`'s actions run (docs/workers.md): `--worker-mode`.

- `in-process`: the application's worker pool, in the API's process (today's default);
- `child`: accepted actions are enqueued on the store's work queue and one
  `bdbexport worker` child process runs them, woken through a pipe, restarted if it
  dies, drained when `serve` stops (with `--shutdown-grace`) or dies;
- `none` (`--no-worker`): an API-only replica; it enqueues, and workers started apart
  (`bdbexport worker`) run the actions.

A `memory://` store lives in one process: only `in-process` serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from bdbexport.composition.work_launch import QueueLauncher
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain.work_queue import WorkQueue

from .server_config import ServerConfig
from .worker_child import WorkerChild

WORKER_MODES = ("in-process", "child", "none")


@dataclass
class ServerWorkers:
    """What `build_server` wires when actions run apart: the launcher the HTTP app and
    the scheduler hand actions to, the queue `GET /v1/workers` reads, and the closer."""

    launcher: QueueLauncher
    queue: WorkQueue
    close: Callable[[], None]
    child: WorkerChild | None = None


def child_options(config: ServerConfig) -> list[str]:
    """The worker options that carry `serve`'s own: the same adapters, roots, egress,
    remote location settings (s3, abs, gs, sftp), limits and lease, so an action runs
    in the child exactly as it would have here."""
    options = ["--exporter", config.exporter, "--importer", config.importer]
    options += ["--simulated-duration", str(config.simulated_duration)]
    options += ["--simulated-outcome", config.simulated_outcome]
    options += ["--concurrency", str(config.max_concurrent_exports)]
    options += ["--drain-timeout", str(config.shutdown_grace)]
    options += ["--export-timeout", str(config.export_timeout)]
    options += ["--export-lease-ttl", str(config.export_lease_ttl)]
    options += ["--import-max-bytes", str(config.import_max_bytes)]
    options += ["--import-max-memory", str(config.import_max_memory)]
    options += ["--import-cpu-limit", str(config.import_cpu_limit)]
    options += ["--import-load-timeout", str(config.import_load_timeout)]
    for root in config.export_roots:
        options += ["--export-root", str(root)]
    for allowed in config.allow_egress:
        options += ["--allow-egress", allowed]
    remote = (
        ("--s3-url", config.s3_url),
        ("--s3-ca-cert", config.s3_ca_cert),
        ("--gs-url", config.gs_url),
        ("--abs-url", config.abs_url),
        ("--sftp-known-hosts", config.sftp_known_hosts),
    )
    for flag, value in remote:
        if value is not None:
            options += [flag, str(value)]
    return options


def start_workers(
    config: ServerConfig, registry: CollectorRegistry | None = None
) -> ServerWorkers | None:
    """None for `in-process`; else the queue, and the child for `child`. With
    `registry`, the queue's figures are reported in it (`/metrics`)."""
    if config.worker_mode == "in-process":
        return None
    child = None
    if config.worker_mode == "child":
        child = WorkerChild(
            config.store_url, child_options(config), drain_timeout=config.shutdown_grace
        )
    queue, close_queue = open_work_queue(
        config.store_url,
        wake_writer=None if child is None else child.wake_writer,
        registry=registry,
    )
    if child is not None:
        child.start()
    launcher = QueueLauncher(queue)

    def close() -> None:
        launcher.close()
        if child is not None:
            child.stop()
        close_queue()

    return ServerWorkers(launcher, queue, close, child)
