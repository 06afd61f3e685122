"""Fetching the file to import into a private work directory, with the failure reason
each real cause deserves.

A `mount_point` location names the file itself (`/backups/db1.rdb`), a `url` location
an FTP/FTPS URL ending in the file's name, as in Redis Software's
`dataset_import_sources`. The file is copied, not read in place: the loader then works
on bytes nobody can change under it, and a source on a slow share is read once. Its
9-byte RDB header is checked as soon as it arrives, so a file that is not an RDB is
refused before anything more is copied.

- a path that does not exist, or names anything but a regular file (a directory, a
  FIFO, a device): `wrong-file-path` — opened without blocking, so a FIFO nobody
  writes to cannot hold a worker;
- a file we may not read, a refused FTP login, a host the egress policy refuses:
  `no-permission`;
- an FTP file that does not exist: `wrong-file-path`;
- an FTP server that cannot be reached, breaks off or is late: `download-error`;
- anything else: `general-error`.

Every copy is within a `SizeCap` (`size_cap.py`): the size a source announces and the
bytes it sends are held against the server's `--import-max-bytes`, the target's memory
limit and the disk's free space, before and while copying.

Failure details name a path as the client wrote it, never where it resolved to on
this server, and never quote the file's content.

FTP goes through an `FtpOpener` the composition root provides (the export side's
bounded, egress-checked connection): every reply and every chunk within `timeout`,
and `waiting` (the progress report, which raises on cancel or shutdown) called about
every quarter second while a step waits, so a cancelled import lets go at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import ftplib
import os
import socket
import ssl
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ImportFailureReason

from .limits import ImportLimits
from .rdb_version import HEADER_SIZE, version_in_header
from .size_cap import SizeCap

CHUNK = 1024 * 1024
SLICE = 0.25
"""Longest single wait on the data connection, so `waiting` runs at least this often."""
SUPPORTED_SOURCE_TYPES = frozenset({"mount_point", "url"})

Fraction = Callable[[float], None]
"""Told how much of the file has arrived (0 to 1) after each chunk, and again while a
step waits; may raise to stop."""


class FtpOpener(Protocol):
    """A logged-out control connection to `host`:`port` with its welcome read, or
    `EgressNotAllowedError`, `OSError`, `EOFError`, `ftplib.Error`."""

    def __call__(
        self, host: str, port: int, *, tls: bool, timeout: float, waiting: Callable[[], None]
    ) -> ftplib.FTP: ...


def plain_ftp(
    host: str, port: int, *, tls: bool, timeout: float, waiting: Callable[[], None]
) -> ftplib.FTP:
    """ftplib as it is (no egress policy, a per-read timeout): for embedders that wire
    no opener. The server always wires the bounded one."""
    ftp: ftplib.FTP = (
        ftplib.FTP_TLS(timeout=timeout, context=ssl.create_default_context())
        if tls
        else ftplib.FTP(timeout=timeout)
    )
    ftp.connect(host, port)
    return ftp


class RemoteSource(Protocol):
    """The other location types' downloads (`s3`, `abs`, `sftp`: the composition root
    provides `adapters/object_stores`): the file into `writer`, its size, or
    `ImportFailedError` with the reason the provider's answer deserves."""

    types: frozenset[str]

    def fetch(self, source: ExportLocation, writer: BinaryIO, fraction: Fraction) -> int: ...


class _CappedWriter:
    """A file that holds every write against the `SizeCap` before it lands."""

    def __init__(self, file: BinaryIO, cap: SizeCap) -> None:
        self._file = file
        self._cap = cap
        self._done = 0

    def write(self, data: bytes | memoryview) -> int:
        self._cap.copied(self._done + len(data))
        self._done += len(data)
        return self._file.write(data)


def fetch(
    source: ExportLocation,
    destination: Path,
    fraction: Fraction,
    *,
    timeout: float,
    cap: SizeCap | None = None,
    resolved: Path | None = None,
    open_ftp: FtpOpener = plain_ftp,
    remote: RemoteSource | None = None,
) -> None:
    """Copy the file `source` names to `destination` (a new file), within `cap`
    (default: the default `ImportLimits`). `resolved` is where a `mount_point` path
    really leads (the deployment's roots resolved it)."""
    if cap is None:
        defaults = ImportLimits()
        cap = SizeCap(defaults.max_bytes, destination.parent, defaults.free_reserve)
    if isinstance(source, MountPointLocation):
        path = resolved if resolved is not None else Path(source.path)
        _copy_local(path, source.path, destination, fraction, cap)
    elif isinstance(source, UrlLocation):
        _download_ftp(source, destination, fraction, timeout=timeout, open_ftp=open_ftp, cap=cap)
    elif remote is not None and source.type in remote.types:
        with destination.open("xb") as file:
            remote.fetch(source, _CappedWriter(file, cap), fraction)  # type: ignore[arg-type]
    else:
        raise ImportFailedError(
            ImportFailureReason.GENERAL_ERROR, f"no importer for location type {source.type}"
        )


def _failed(reason: ImportFailureReason, detail: str) -> ImportFailedError:
    return ImportFailedError(reason, detail)


def open_regular_file(path: Path, shown: str) -> BinaryIO:
    """`path` opened for reading if it is a regular file, without ever blocking: a
    FIFO opened plainly waits for a writer forever. So: `O_NONBLOCK`, `fstat`, refuse
    anything else, then blocking reads again."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise _failed(ImportFailureReason.WRONG_FILE_PATH, f"no file {shown}") from None
    except PermissionError as error:
        raise _failed(
            ImportFailureReason.NO_PERMISSION, f"cannot read {shown}: {error.strerror}"
        ) from None
    except OSError as error:  # ENXIO: a socket; ELOOP, ENOTDIR, ...
        raise _failed(
            ImportFailureReason.WRONG_FILE_PATH, f"cannot open {shown}: {error.strerror}"
        ) from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise _failed(
                ImportFailureReason.WRONG_FILE_PATH, f"{shown} is a directory, not a file"
            )
        if not stat.S_ISREG(mode):
            raise _failed(ImportFailureReason.WRONG_FILE_PATH, f"{shown} is not a regular file")
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
        fcntl.fcntl(descriptor, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _copy_local(
    path: Path, shown: str, destination: Path, fraction: Fraction, cap: SizeCap
) -> None:
    reader = open_regular_file(path, shown)
    with reader, destination.open("xb") as writer:
        try:
            size = os.fstat(reader.fileno()).st_size
            total = max(size, 1)
            version_in_header(reader.read(HEADER_SIZE))
            cap.announce(size, ImportFailureReason.GENERAL_ERROR)  # one that grows: refused
            reader.seek(0)
            done = 0
            while chunk := reader.read(CHUNK):
                cap.copied(done + len(chunk))
                writer.write(chunk)
                done += len(chunk)
                fraction(min(done / total, 1.0))
        except PermissionError as error:
            raise _failed(
                ImportFailureReason.NO_PERMISSION, f"cannot read {shown}: {error.strerror}"
            ) from None
        except OSError as error:
            raise _failed(
                ImportFailureReason.GENERAL_ERROR,
                f"reading {shown} failed: {error.strerror or type(error).__name__}",
            ) from None


def _download_ftp(
    source: UrlLocation,
    destination: Path,
    fraction: Fraction,
    *,
    timeout: float,
    open_ftp: FtpOpener,
    cap: SizeCap,
) -> None:
    url = urlsplit(source.url.get_secret_value())
    host, port = url.hostname or "", url.port or 21
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = unquote(url.path)
    if not path or path.endswith("/"):
        raise _failed(
            ImportFailureReason.WRONG_FILE_PATH, f"the URL names no file on {where}: {path!r}"
        )
    arrived = 0.0

    def waiting() -> None:
        fraction(arrived)

    try:
        ftp = open_ftp(host, port, tls=url.scheme == "ftps", timeout=timeout, waiting=waiting)
    except EgressNotAllowedError as refused:
        raise _failed(ImportFailureReason.NO_PERMISSION, refused.description) from None
    except (ftplib.Error, OSError, EOFError) as error:
        raise _failed(
            ImportFailureReason.DOWNLOAD_ERROR,
            f"cannot reach FTP server {where}: {_said(error)}",
        ) from None
    finished = False
    try:
        try:
            ftp.login(unquote(url.username or "anonymous"), unquote(url.password or ""))
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
        except ftplib.error_perm as error:
            raise _failed(
                ImportFailureReason.NO_PERMISSION, f"FTP login to {where} refused: {error}"
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            raise _failed(
                ImportFailureReason.DOWNLOAD_ERROR,
                f"FTP login to {where} failed: {_said(error)}",
            ) from None

        def received(share: float) -> None:
            nonlocal arrived
            arrived = share
            fraction(share)

        _retrieve(ftp, path, where, destination, received, waiting, timeout, cap)
        finished = True
    finally:
        if finished:
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                ftp.quit()
        ftp.close()  # failed, cancelled or stopping: hang up without waiting for QUIT


def _said(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _retrieve(
    ftp: ftplib.FTP,
    path: str,
    where: str,
    destination: Path,
    fraction: Fraction,
    waiting: Callable[[], None],
    timeout: float,
    cap: SizeCap,
) -> None:
    total = 0
    with contextlib.suppress(ftplib.Error, OSError, EOFError, ValueError, TypeError):
        ftp.voidcmd("TYPE I")
        total = ftp.size(path) or 0
    if total > 0:  # judged before RETR: a file too big is never requested
        cap.announce(total, ImportFailureReason.DOWNLOAD_ERROR)
    try:
        data = ftp.transfercmd(f"RETR {path}")
    except ftplib.error_perm as error:
        said = str(error).lower()
        reason = (
            ImportFailureReason.NO_PERMISSION
            if "permission" in said or "privilege" in said
            else ImportFailureReason.WRONG_FILE_PATH
        )
        raise _failed(reason, f"cannot download {path} from {where}: {error}") from None
    except (ftplib.Error, OSError, EOFError) as error:
        raise _failed(
            ImportFailureReason.DOWNLOAD_ERROR,
            f"download of {path} from {where} broke: {_said(error)}",
        ) from None
    with data, destination.open("xb") as writer:
        try:
            _receive_file(data, writer, total, fraction, waiting, timeout, cap)
        except OSError as error:
            raise _failed(
                ImportFailureReason.DOWNLOAD_ERROR,
                f"download of {path} from {where} broke: {_said(error)}",
            ) from None
    try:
        ftp.voidresp()
    except (ftplib.Error, OSError, EOFError) as error:
        raise _failed(
            ImportFailureReason.DOWNLOAD_ERROR,
            f"download of {path} from {where} did not complete: {_said(error)}",
        ) from None


def _receive_file(
    data: socket.socket,
    writer: BinaryIO,
    total: int,
    fraction: Fraction,
    waiting: Callable[[], None],
    timeout: float,
    cap: SizeCap,
) -> None:
    """The data connection's bytes into `writer`: each chunk within `timeout` and
    `cap`, the header judged once its 9 bytes are in."""
    head = b""
    done = 0
    while True:
        chunk = _next_chunk(data, timeout, waiting)
        if not chunk:
            break
        if len(head) < HEADER_SIZE:
            head += chunk[: HEADER_SIZE - len(head)]
            if len(head) == HEADER_SIZE:
                version_in_header(head)
        cap.copied(done + len(chunk))
        writer.write(chunk)
        done += len(chunk)
        if total:
            fraction(min(done / total, 1.0))
    version_in_header(head)  # a file shorter than a header


def _next_chunk(data: socket.socket, timeout: float, waiting: Callable[[], None]) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no data from the FTP server for {timeout:g}s")
        data.settimeout(min(remaining, SLICE))
        try:
            return data.recv(CHUNK)
        except TimeoutError:
            waiting()
