"""The use cases over a store in this process: what the CLI's local mode runs.

An action started locally (export, import or backup alike) runs in the foreground
through the same runner and adapters as the server's (`bootstrap` builds both), with
the exporter or importer the command chose, after the same start-time checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bdbexport.adapters.cli.settings import RemoteOptions
from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.auth.ports import LoginAttempts, UserDirectory
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import BdbRepository, ModuleRegistry
from bdbexport.domain.service import ActionService

from .application import (
    Application,
    bootstrap,
    choose_exporter,
    location_check,
    remote_locations,
)
from .importers import choose_importer
from .login_attempts import open_login_attempts
from .stores import Store, default_export_root, default_store_url, open_store, store_hosts

DEFAULT_TIMEOUT = 30.0
"""Every network step of a local action (the CLI has no --export-timeout of its own)."""


class MissingStoreError(FileNotFoundError):
    """The store file does not exist, and the command may not create it."""


class StoreRuntime:
    """The use cases over one opened store; closes it when done."""

    def __init__(self, store: Store, *, simulated_duration: float = 5.0) -> None:
        self._store = store
        self._simulated_duration = simulated_duration
        self._application = bootstrap(store)
        self._login_attempts: tuple[LoginAttempts, Callable[[], None]] | None = None

    @property
    def service(self) -> ActionService:
        return self._application.service

    @property
    def bdbs(self) -> BdbRepository:
        return self._store.bdbs

    @property
    def modules(self) -> ModuleRegistry:
        return self._store.modules

    @property
    def users(self) -> UserDirectory:
        return self._store.users

    @property
    def login_attempts(self) -> LoginAttempts:
        """Opened on first use (its own connection to the store), closed with the rest."""
        if self._login_attempts is None:
            self._login_attempts = open_login_attempts(self._store.url)
        return self._login_attempts[0]

    def check_location(
        self,
        location: ExportLocation,
        *,
        kind: ActionKind,
        worker: str = "rdb",
        export_roots: Sequence[Path] = (),
        remote_options: RemoteOptions | None = None,
    ) -> None:
        """The start-time refusals a server makes, before anything is recorded, for the
        adapter `worker` names (an exporter, or for imports an importer): a location
        type it cannot serve, a `mount_point` path outside the local roots
        (`local_export_roots`, with `export_roots` added), an FTP host the default
        egress policy refuses. The same `LocationCheck` as a server's, so the answers
        match."""
        roots = ExportRoots(local_export_roots(self._store.url, export_roots))
        options = remote_options or RemoteOptions()
        egress = EgressPolicy.build(options.allow_egress, store_hosts(self._store.url))
        remote = remote_locations(remote_settings(options), egress, DEFAULT_TIMEOUT)
        exporter = choose_exporter(
            "rdb" if kind is ActionKind.IMPORT else worker, roots=roots, remote=remote
        )
        importer = (
            choose_importer(worker, roots=roots, remote=remote)
            if kind is ActionKind.IMPORT
            else None
        )
        location_check(exporter, importer, roots=roots, egress=egress, remote=remote)(
            location, kind
        )

    def run_action(
        self,
        started: Bdb,
        location: ExportLocation,
        *,
        kind: ActionKind,
        flush: bool = False,
        worker: str = "rdb",
        on_progress: Callable[[int], None],
        export_roots: Sequence[Path] = (),
        remote_options: RemoteOptions | None = None,
    ) -> None:
        """Run any action its start began, in the foreground, to its end: `worker` is the
        exporter (exports, backups) or the importer (imports) to use."""
        runner: Application = bootstrap(
            self._store,
            exporter=worker if kind is not ActionKind.IMPORT else "simulated",
            importer=worker if kind is ActionKind.IMPORT else None,
            simulated_duration=self._simulated_duration,
            max_concurrent_exports=1,
            export_roots=local_export_roots(self._store.url, export_roots),
            allow_egress=(remote_options or RemoteOptions()).allow_egress,
            remote_settings=remote_settings(remote_options or RemoteOptions()),
            export_timeout=DEFAULT_TIMEOUT,
        )
        try:
            runner.run_here(started, location, kind=kind, flush=flush, on_progress=on_progress)
        finally:
            runner.pool.shutdown(grace=0 if runner.stopping.is_set() else 1.0)
            if runner.action_logs is not None:
                runner.action_logs.close()

    def close(self) -> None:
        self._application.pool.shutdown(grace=0)
        if self._application.action_logs is not None:
            self._application.action_logs.close()
        if self._login_attempts is not None:
            self._login_attempts[1]()
        self._store.close()


def remote_settings(options: RemoteOptions) -> RemoteSettings:
    """The CLI's `--s3-url`, ... as the remote adapters' settings (as `serve` builds
    them); `ValueError` for a CA file that cannot be read."""
    ca = None if options.s3_ca_cert is None else options.s3_ca_cert.read_text()
    return RemoteSettings(
        s3_url=options.s3_url,
        s3_ca_cert=ca,
        gs_url=options.gs_url,
        abs_url=options.abs_url,
        sftp_known_hosts=options.sftp_known_hosts,
        timeout=DEFAULT_TIMEOUT,
    )


def local_export_roots(store_url: str, extra: Sequence[Path] = ()) -> list[Path]:
    """Where a local export may write and a local import may read: the working
    directory, the store's export folder (as `serve` would), and the roots the command
    was given (`bdbexport --export-root DIR`); the command runs with its user's own
    rights, and the roots keep it from going where a path merely leads (`..`, symlinks).

    The working directory comes first because the first root anchors relative paths:
    locally `--path rel` is `./rel`, as for every command line tool (a server anchors
    them at its first export root instead, docs/exports.md)."""
    return [Path.cwd(), default_export_root(store_url), *extra]


def sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite://") :]) if url.startswith("sqlite://") else None


def open_local_runtime(store_url: str | None, create: bool) -> StoreRuntime:
    """The runtime over `store_url` (default: the embedded file). Without `create`, a
    missing SQLite file is `MissingStoreError` rather than a new empty store."""
    url = store_url or default_store_url()
    path = sqlite_path(url)
    if path is not None and not create and not path.exists():
        raise MissingStoreError(str(path))
    return StoreRuntime(open_store(url))
