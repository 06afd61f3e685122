"""`bdbexport worker`: a process that claims queued actions from the store and runs
them (docs/workers.md).

It runs at a lower CPU priority than the API by default (`--nice 10`), so a busy
mover never starves a request on a shared machine. SIGTERM (and Ctrl-C) drains:
nothing more is claimed, running transfers get `--drain-timeout` seconds, the rest go
back to the queue uncounted. Every claim, retry, release and end is one JSON line on
standard output.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.adapters.exporting.queue_worker import WorkerSettings
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.composition.stores import StoreUrlError, default_store_url
from bdbexport.composition.workers import build_worker

from .serve_options import AbsUrl, GsUrl, S3CaCert, S3Url, SftpKnownHosts

DEFAULT_NICE = 10


def _print_line(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def worker_command(
    store: Annotated[
        str | None,
        typer.Option(
            help="Store URL the API replicas use: sqlite:///path (default) or redis://.",
            show_default=False,
            metavar="URL",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "--max-concurrent-exports",
            help="Actions this worker runs at once.",
            metavar="N",
        ),
    ] = 4,
    max_running: Annotated[
        int,
        typer.Option(help="Cap on running transfers across all workers on the store.", metavar="N"),
    ] = 1_000_000,
    max_attempts: Annotated[
        int, typer.Option(help="Attempts an action gets before it fails.", metavar="N")
    ] = 3,
    drain_timeout: Annotated[
        float,
        typer.Option(help="Seconds running transfers get to finish on SIGTERM.", metavar="SECONDS"),
    ] = 60.0,
    lease: Annotated[
        float, typer.Option(help="Seconds a claim lives without a heartbeat.", metavar="SECONDS")
    ] = 15.0,
    nice: Annotated[
        int,
        typer.Option(
            help="CPU niceness added to this process (0: the API's priority).", metavar="N"
        ),
    ] = DEFAULT_NICE,
    name: Annotated[
        str | None,
        typer.Option(help="Worker id (default: host:pid).", metavar="NAME", show_default=False),
    ] = None,
    exporter: Annotated[
        str, typer.Option(help="'rdb' or 'simulated'.", metavar="rdb|simulated")
    ] = "rdb",
    importer: Annotated[str, typer.Option(help="'rdb' or 'memory'.", metavar="rdb|memory")] = "rdb",
    simulated_duration: Annotated[
        float, typer.Option(help="Seconds a simulated export takes.", metavar="SECONDS")
    ] = 5.0,
    simulated_outcome: Annotated[
        str,
        typer.Option(help="succeed, or a failure reason (simulated exporter).", metavar="OUTCOME"),
    ] = "succeed",
    export_timeout: Annotated[
        float,
        typer.Option(help="Seconds every network step of a transfer may take.", metavar="SECONDS"),
    ] = 30.0,
    export_lease_ttl: Annotated[
        float,
        typer.Option(
            help="Seconds a running action's lease lasts between heartbeats.", metavar="SECONDS"
        ),
    ] = 60.0,
    import_max_bytes: Annotated[
        int, typer.Option(help="Largest import file read.", metavar="N")
    ] = ImportLimits.max_bytes,
    import_max_memory: Annotated[
        int, typer.Option(help="Memory an import's loader may use (bytes).", metavar="N")
    ] = ImportLimits.max_memory,
    import_cpu_limit: Annotated[
        int, typer.Option(help="CPU seconds an import's loader may use.", metavar="N")
    ] = ImportLimits.cpu_seconds,
    import_load_timeout: Annotated[
        float, typer.Option(help="Seconds an import's loader may take.", metavar="SECONDS")
    ] = ImportLimits.load_timeout,
    export_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Directory exports may write in (repeatable).", show_default=False, metavar="DIR"
        ),
    ] = None,
    allow_egress: Annotated[
        list[str] | None,
        typer.Option(
            help="Host or network remote transfers may reach (repeatable).",
            show_default=False,
            metavar="HOST|CIDR",
        ),
    ] = None,
    s3_url: S3Url = None,
    s3_ca_cert: S3CaCert = None,
    gs_url: GsUrl = None,
    abs_url: AbsUrl = None,
    sftp_known_hosts: SftpKnownHosts = None,
    wake_fd: Annotated[
        int | None,
        typer.Option(help="Pipe to wait on for new work (set by serve).", hidden=True, metavar="N"),
    ] = None,
    lifeline_fd: Annotated[
        int | None,
        typer.Option(
            help="Pipe whose end-of-file means serve is gone: drain.", hidden=True, metavar="N"
        ),
    ] = None,
) -> None:
    """Claim queued exports, imports and backups from the store and run them."""
    url = store or default_store_url()
    if url.startswith("memory:"):
        _refuse("a memory:// store lives in one process: its worker runs inside serve")
    if concurrency < 1 or max_attempts < 1 or max_running < 1:
        _refuse("--concurrency, --max-attempts and --max-running must be at least 1")
    if nice:
        os.nice(nice)
    defaults = WorkerSettings()
    settings = WorkerSettings(
        name=name or defaults.name,
        concurrency=concurrency,
        max_running=max_running,
        max_attempts=max_attempts,
        lease=timedelta(seconds=lease),
        drain_timeout=drain_timeout,
    )
    try:
        ca = None if s3_ca_cert is None else s3_ca_cert.read_text()
    except (OSError, UnicodeDecodeError) as error:
        _refuse(f"--s3-ca-cert {s3_ca_cert} cannot be read: {error}")
    remote = RemoteSettings(
        s3_url=s3_url,
        s3_ca_cert=ca,
        gs_url=gs_url,
        abs_url=abs_url,
        sftp_known_hosts=sftp_known_hosts,
        timeout=export_timeout,
    )
    try:
        worker, close = build_worker(
            url,
            settings,
            exporter=exporter,
            importer=importer,
            simulated_duration=simulated_duration,
            simulated_outcome=simulated_outcome,
            export_timeout=export_timeout,
            lease_ttl=timedelta(seconds=export_lease_ttl),
            import_limits=ImportLimits(
                max_bytes=import_max_bytes,
                max_memory=import_max_memory,
                cpu_seconds=import_cpu_limit,
                load_timeout=import_load_timeout,
            ),
            export_roots=export_root or (),
            allow_egress=allow_egress or (),
            remote_settings=remote,
            wake_reader=wake_fd,
            log_line=_print_line,
        )
    except (StoreUrlError, ValueError) as error:
        _refuse(str(error))
    stop_signals = (signal.SIGTERM, signal.SIGINT)
    for number in stop_signals:
        signal.signal(number, lambda *_: worker.drain())
    if lifeline_fd is not None:
        threading.Thread(
            target=_drain_at_eof, args=(lifeline_fd, worker.drain), daemon=True
        ).start()
    _print_line(
        {"event": "start", "worker": settings.name, "store": _shown(url), "pid": os.getpid()}
    )
    runner = threading.Thread(target=worker.run, name="bdbexport-worker")
    runner.start()
    while runner.is_alive():
        runner.join(0.5)
    close()
    _print_line({"event": "stop", "worker": settings.name})


def _drain_at_eof(fd: int, drain: Callable[[], None]) -> None:
    """Block on the lifeline until `serve` is gone (nothing is ever written to it)."""
    while os.read(fd, 64):
        pass
    drain()


def _refuse(message: str) -> None:
    sys.stderr.write(f"error: invalid_argument: {message}\n")
    raise SystemExit(ExitCode.USAGE)


def _shown(url: str) -> str:
    """The store URL without a password, for the log."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def add_worker_command(app: typer.Typer) -> None:
    app.command("worker", short_help="Run queued exports, imports and backups from the store.")(
        worker_command
    )
