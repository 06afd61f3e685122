"""Where the snapshot's bytes go: a directory (`mount_point`) or an FTP/FTPS server
(`url`). Both write under a temporary name and publish the final name only once the
last byte is safe, so a failure never leaves a truncated file under the final name.

Failure reasons come from real causes: a directory that does not exist is
`wrong-file-path`, one that cannot be written `no-permission`; a refused FTP login is
`no-permission`, a missing remote directory `wrong-file-path`; anything else
(unreachable, timeout, disk full, ...) is `general-error`.
"""

from __future__ import annotations

import contextlib
import errno
import ftplib
import os
import re
import socket
import ssl
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ExportFailureReason

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(bdb_name: str, at: datetime) -> str:
    """`<bdb name>-<UTC timestamp>.rdb`, with the name made safe for any file system."""
    safe = _UNSAFE.sub("_", bdb_name).strip("._") or "bdb"
    return f"{safe}-{at.strftime('%Y%m%dT%H%M%SZ')}.rdb"


class Sink(Protocol):
    final_name: str

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


def _failed(reason: ExportFailureReason, detail: str) -> ExportFailedError:
    return ExportFailedError(reason, detail)


class DirectorySink:
    """A file in a mounted directory: temp file, fsync, atomic rename, fsync directory."""

    def __init__(self, location: MountPointLocation, final_name: str) -> None:
        self.directory = Path(location.path)
        self.final_name = final_name
        if not self.directory.is_dir():
            raise _failed(
                ExportFailureReason.WRONG_FILE_PATH, f"{self.directory} is not a directory"
            )
        try:
            self._fd, temp = tempfile.mkstemp(
                dir=self.directory, prefix=f".{final_name}.", suffix=".partial"
            )
        except PermissionError as error:
            raise _failed(
                ExportFailureReason.NO_PERMISSION, f"cannot write in {self.directory}: {error}"
            ) from error
        except OSError as error:
            raise _failed(
                ExportFailureReason.GENERAL_ERROR,
                f"cannot create a file in {self.directory}: {error}",
            ) from error
        self.temp = Path(temp)

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            reason = (
                ExportFailureReason.NO_PERMISSION
                if error.errno in {errno.EACCES, errno.EPERM}
                else ExportFailureReason.GENERAL_ERROR
            )
            raise _failed(reason, f"writing {self.temp} failed: {error}") from error

    def commit(self) -> None:
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.replace(self.temp, self.directory / self.final_name)
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            self.abort()
            raise _failed(ExportFailureReason.GENERAL_ERROR, f"saving failed: {error}") from error

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.temp.unlink(missing_ok=True)


class FtpSink:
    """An upload to an FTP or FTPS server, under a temporary name renamed at the end."""

    def __init__(self, location: UrlLocation, final_name: str, *, timeout: float = 30.0) -> None:
        self.final_name = final_name
        url = urlsplit(location.url.get_secret_value())
        self.where = f"{url.hostname}:{url.port or 21}"
        self.temp_name = f".{final_name}.partial"
        self._data: socket.socket | None = None
        self._ftp: ftplib.FTP = (
            ftplib.FTP_TLS(timeout=timeout, context=ssl.create_default_context())
            if url.scheme == "ftps"
            else ftplib.FTP(timeout=timeout)
        )
        try:
            self._ftp.connect(url.hostname or "", url.port or 21)
        except OSError as error:
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"cannot reach FTP server {self.where}: {error}"
            ) from error
        try:
            self._ftp.login(unquote(url.username or "anonymous"), unquote(url.password or ""))
            if isinstance(self._ftp, ftplib.FTP_TLS):
                self._ftp.prot_p()
        except ftplib.error_perm as error:
            self._close()
            raise _failed(
                ExportFailureReason.NO_PERMISSION, f"FTP login to {self.where} refused: {error}"
            ) from error
        except (ftplib.Error, OSError) as error:
            self._close()
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"FTP login to {self.where} failed: {error}"
            ) from error
        path = unquote(url.path) or "/"
        try:
            self._ftp.cwd(path)
        except ftplib.error_perm as error:
            self._close()
            raise _failed(
                ExportFailureReason.WRONG_FILE_PATH, f"no directory {path} on {self.where}: {error}"
            ) from error
        try:
            self._data = self._ftp.transfercmd(f"STOR {self.temp_name}")
        except ftplib.error_perm as error:
            self._close()
            raise _failed(
                ExportFailureReason.NO_PERMISSION,
                f"cannot upload to {path} on {self.where}: {error}",
            ) from error
        except (ftplib.Error, OSError) as error:
            self._close()
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"upload to {self.where} failed: {error}"
            ) from error

    def write(self, data: bytes) -> None:
        assert self._data is not None
        try:
            self._data.sendall(data)
        except OSError as error:
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"upload to {self.where} broke: {error}"
            ) from error

    def commit(self) -> None:
        assert self._data is not None
        try:
            if isinstance(self._data, ssl.SSLSocket):
                self._data.unwrap()
            self._data.close()
            self._data = None
            self._ftp.voidresp()
            self._ftp.rename(self.temp_name, self.final_name)
        except (ftplib.Error, OSError) as error:
            self.abort()
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"finishing the upload failed: {error}"
            ) from error
        self._close()

    def abort(self) -> None:
        if self._data is not None:
            self._data.close()
            self._data = None
            with contextlib.suppress(ftplib.Error, OSError):
                self._ftp.voidresp()
        with contextlib.suppress(ftplib.Error, OSError):
            self._ftp.delete(self.temp_name)
        self._close()

    def _close(self) -> None:
        try:
            self._ftp.quit()
        except (ftplib.Error, OSError):
            self._ftp.close()
