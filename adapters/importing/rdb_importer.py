"""The real importer: an RDB file, read by Redis's own loader in a private scratch
`redis-server`, copied key by key into the bdb's live Redis.

Why a scratch server and `DUMP`/`RESTORE`, and not the replication protocol (the
target `REPLICAOF`s a fake master of ours that sends the file): the target only has
to be reachable from us as a client, as for exports (it never connects back); a
merge (`flush` false) is possible at all; and every write is a plain command we can
journal, so a cancelled or failed import puts the target back exactly as it was.
See docs/imports.md.

Phases and progress: fetching the file (0-10 %), loading it (10-20 %), copying its
keys and, with `flush`, deleting the target's other keys (20-99 %).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ImportFailureReason

from .cage import WORK_PREFIX, reap_leftovers, write_owner
from .key_copier import KeyCopier, keyspace
from .limits import ImportLimits
from .progress import ProgressReporter
from .rdb_version import check_readable, rdb_version_of
from .resp import ConnectionLostError, RespConnection, RespError
from .scratch_server import ScratchServer
from .size_cap import SizeCap
from .sources import SUPPORTED_SOURCE_TYPES, FtpOpener, RemoteSource, fetch, plain_ftp
from .undo_journal import UndoJournal

DEFAULT_DATABASES = 16


class RdbImporter:
    """Loads an RDB from a `mount_point` file or an FTP/FTPS `url` into the bdb's first
    endpoint (its first address)."""

    location_types = SUPPORTED_SOURCE_TYPES

    def __init__(
        self,
        *,
        redis_server: str | None = None,
        timeout: float = 30.0,
        limits: ImportLimits | None = None,
        batch: int = 500,
        work_dir: Path | None = None,
        progress_interval: float = 0.25,
        resolve_path: Callable[[str], Path] | None = None,
        check_host: Callable[[str], None] | None = None,
        open_ftp: FtpOpener = plain_ftp,
        remote: RemoteSource | None = None,
    ) -> None:
        """`resolve_path` and `check_host` are the deployment's rules for where files
        may be read (a `mount_point` path, resolved) and which FTP hosts may be
        contacted; each raises a `DomainError` to refuse, which fails the import with
        `no-permission`. Without them every readable path and host is allowed.
        `open_ftp` makes FTP control connections (the server wires the export side's:
        egress-checked at the address it connects to, every reply bounded by
        `timeout`). `limits` bound what one import may take from the machine: the
        file's size, the loader's memory, CPU time and load time (docs/security.md)."""
        self._binary = redis_server
        self._timeout = timeout
        self._limits = limits if limits is not None else ImportLimits()
        self._batch = batch
        self._work_dir = work_dir
        self._progress_interval = progress_interval
        self._resolve_path = resolve_path
        self._check_host = check_host
        self._open_ftp = open_ftp
        self._remote = remote
        # `remote` adds the other location types (s3, abs, sftp), docs/imports.md.
        self.location_types = SUPPORTED_SOURCE_TYPES | (remote.types if remote else frozenset())

    def reap_leftovers(self) -> int:
        """Kill the loaders, and remove the work directories, that imports of servers
        no longer running left in the work directory's parent (a server killed before
        the kernel could end its loader); how many loaders were killed. A server calls
        it as it starts."""
        return reap_leftovers(self._work_dir or Path(tempfile.gettempdir()))

    def import_rdb(
        self,
        bdb: Bdb,
        source: ExportLocation,
        *,
        flush: bool,
        progress: Callable[[int], None],
    ) -> int:
        """Returns the bytes read: the size of the RDB file as fetched."""
        if not bdb.endpoints or not bdb.endpoints[0].addr:
            raise ImportFailedError(ImportFailureReason.GENERAL_ERROR, "no data endpoint")
        if source.type not in self.location_types:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR, f"no importer for location type {source.type}"
            )
        resolved = self._permitted(source)
        binary = self._loader_binary()
        reporter = ProgressReporter(progress, interval=self._progress_interval)
        try:
            return self._run(bdb, source, resolved, flush=flush, binary=binary, reporter=reporter)
        except RespError as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR, f"a server refused a command: {error.message}"
            ) from error
        except ConnectionLostError as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR, f"lost a server connection: {error}"
            ) from error

    def _run(
        self,
        bdb: Bdb,
        source: ExportLocation,
        resolved: Path | None,
        *,
        flush: bool,
        binary: str,
        reporter: ProgressReporter,
    ) -> int:
        with (
            tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=self._work_dir) as work,
            self._connect_target(bdb) as target,
        ):
            directory = Path(work)
            directory.chmod(0o700)
            write_owner(directory)
            rdb = directory / "import.rdb"
            cap = SizeCap(
                max_bytes=self._limits.max_bytes,
                directory=directory,
                free_reserve=self._limits.free_reserve,
                memory_limit=_memory_limit(target),
            )
            fetch(
                source,
                rdb,
                lambda done: reporter.phase(0, 10, done),
                timeout=self._timeout,
                cap=cap,
                resolved=resolved,
                open_ftp=self._open_ftp,
                remote=self._remote,
            )
            size = rdb.stat().st_size
            version = rdb_version_of(rdb)
            check_readable(version, "the target", _redis_version(target))
            check_readable(version, "the loader", _loader_version(binary))
            with ScratchServer(
                binary,
                directory,
                rdb.name,
                databases=max(_databases(target), max(keyspace(target), default=0) + 1),
                timeout=self._timeout,
                limits=self._limits,
            ) as scratch:
                scratch.wait_loaded(lambda done: reporter.phase(10, 20, done))
                try:
                    with (
                        scratch.connect() as loader,
                        UndoJournal(directory / "undo.journal") as journal,
                    ):
                        self._copy(loader, target, journal, flush=flush, reporter=reporter)
                except (ConnectionLostError, ImportFailedError) as lost:
                    stopped = scratch.failure()  # a limit that ended the loader mid-copy
                    if stopped is not None:
                        raise stopped from lost
                    raise
        return size

    def _copy(
        self,
        loader: RespConnection,
        target: RespConnection,
        journal: UndoJournal,
        *,
        flush: bool,
        reporter: ProgressReporter,
    ) -> None:
        incoming = keyspace(loader)
        existing = keyspace(target) if flush else {}
        total = max(sum(incoming.values()) + sum(existing.values()), 1)
        processed = 0

        def done(count: int) -> None:
            nonlocal processed
            processed += count
            reporter.phase(20, 99, processed / total)

        copier = KeyCopier(loader, target, journal, batch=self._batch, done=done)
        try:
            for db in sorted(incoming):
                copier.copy_database(db)
            for db in sorted(existing):
                copier.delete_missing(db)
            reporter.publishing()  # the commit gate: refused, the load is undone
        except BaseException as error:
            _undo(copier, error)
            raise

    def _permitted(self, source: ExportLocation) -> Path | None:
        """Where a `mount_point` path really leads if the deployment's rules allow it
        (None: no rules, or not a path), or `no-permission`. The source itself is kept
        for failure details: they name the path as the client wrote it."""
        try:
            if isinstance(source, MountPointLocation) and self._resolve_path is not None:
                return self._resolve_path(source.path)
            if isinstance(source, UrlLocation) and self._check_host is not None:
                self._check_host(urlsplit(source.url.get_secret_value()).hostname or "")
        except DomainError as refusal:
            raise ImportFailedError(
                ImportFailureReason.NO_PERMISSION, refusal.description
            ) from refusal
        return None

    def _loader_binary(self) -> str:
        binary = self._binary or shutil.which("redis-server")
        if binary is None:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                "no redis-server to read the file with (install Redis, or name one)",
            )
        return binary

    def _connect_target(self, bdb: Bdb) -> RespConnection:
        endpoint = bdb.endpoints[0]
        where = f"{endpoint.addr[0]}:{endpoint.port}"
        try:
            connection = RespConnection.tcp(endpoint.addr[0], endpoint.port, timeout=self._timeout)
        except OSError as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"cannot reach the database at {where}: {error.strerror or error}",
            ) from error
        try:
            if bdb.authentication_redis_pass is not None:
                connection.call("AUTH", bdb.authentication_redis_pass.get_secret_value())
            connection.call("PING")
        except RespError as error:
            connection.close()
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the database at {where} refused us: {error.message}",
            ) from error
        except ConnectionLostError as error:
            connection.close()
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR, f"the database at {where} hung up: {error}"
            ) from error
        return connection


def _undo(copier: KeyCopier, cause: BaseException) -> None:
    """Undo the import's writes; if that fails too, say so in the failure."""
    try:
        copier.undo()
    except (RespError, ConnectionLostError, ImportFailedError, OSError) as error:
        raise ImportFailedError(
            ImportFailureReason.GENERAL_ERROR,
            f"{_cause(cause)}; undoing the partial import failed too, the target may hold "
            f"part of the file: {error}",
        ) from cause
    if isinstance(cause, ConnectionLostError):
        raise ImportFailedError(
            ImportFailureReason.GENERAL_ERROR, f"lost the target: {cause}"
        ) from cause


def _cause(error: BaseException) -> str:
    if isinstance(error, ImportFailedError):
        return error.detail or str(error.reason)
    return f"{type(error).__name__}: {error}"


def _redis_version(connection: RespConnection) -> str:
    info = connection.call("INFO", "server")
    text = info.decode(errors="replace") if isinstance(info, bytes) else ""
    match = re.search(r"^redis_version:(\S+)", text, re.MULTILINE)
    return match.group(1) if match else "unknown"


@functools.cache
def _loader_version(binary: str) -> str:
    try:
        said = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"v=(\S+)", said)
    return match.group(1) if match else "unknown"


def _memory_limit(connection: RespConnection) -> int:
    """The target's `maxmemory` in bytes (0: none, or CONFIG refused, as behind Redis
    Software's proxy)."""
    try:
        reply = connection.call("CONFIG", "GET", "maxmemory")
    except RespError:
        return 0
    if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], bytes):
        return int(reply[1]) if reply[1].isdigit() else 0
    return 0


def _databases(connection: RespConnection) -> int:
    try:
        reply = connection.call("CONFIG", "GET", "databases")
    except RespError:  # CONFIG may be renamed or forbidden
        return DEFAULT_DATABASES
    if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], bytes):
        return int(reply[1])
    return DEFAULT_DATABASES
