"""An export uploaded to an FTP or FTPS server, under a hidden temporary name renamed
when complete, through the egress policy and under time bounds on every step.

Every network step has a bound of `timeout` seconds: connecting (each address), every
control reply *as a whole* (a server that trickles its banner one byte every few
seconds still has only `timeout` for the line: a per-read timeout alone would let it
hold a worker forever), and every chunk sent on the data connection (`sendall` under a
socket timeout bounds the whole call). So a destination that stops making progress
fails the export with `general-error` within `timeout`.
"""

from __future__ import annotations

import contextlib
import ftplib
import socket
import ssl
import time
from typing import TextIO, cast
from urllib.parse import unquote, urlsplit

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import UrlLocation
from bdbexport.domain.statuses import ExportFailureReason

from .egress import EgressPolicy
from .sinks import partial_name


class ReplyDeadlineReader:
    """What ftplib reads control replies from (`readline`, `close`), with a deadline
    per line instead of per `recv`."""

    def __init__(self, connection: socket.socket, encoding: str, timeout: float) -> None:
        self._connection = connection
        self._encoding = encoding
        self._timeout = timeout
        self._buffer = b""

    def readline(self, limit: int = -1) -> str:
        deadline = time.monotonic() + self._timeout
        late = f"no complete reply from the FTP server within {self._timeout:g}s"
        try:
            while b"\n" not in self._buffer and (limit < 0 or len(self._buffer) < limit):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(late)
                self._connection.settimeout(remaining)
                try:
                    data = self._connection.recv(4096)
                except TimeoutError:
                    raise TimeoutError(late) from None
                if not data:
                    break
                self._buffer += data
        finally:
            with contextlib.suppress(OSError):
                self._connection.settimeout(self._timeout)
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line.decode(self._encoding, errors="replace")

    def close(self) -> None:
        self._buffer = b""


def open_guarded(
    ftp: ftplib.FTP, host: str, port: int, egress: EgressPolicy, timeout: float
) -> None:
    """`ftp.connect`, but through the egress policy and reading replies under a
    deadline."""
    ftp.host, ftp.port, ftp.timeout = host, port, timeout
    ftp.sock = egress.connect(host, port, timeout)
    ftp.af = ftp.sock.family
    ftp.file = cast(TextIO, ReplyDeadlineReader(ftp.sock, ftp.encoding, timeout))
    ftp.welcome = ftp.getresp()


class BoundedFtpTls(ftplib.FTP_TLS):
    def auth(self) -> str:
        reply: str = super().auth()
        # ftplib re-creates its reader over the TLS socket: bound that one too.
        assert self.sock is not None
        timeout = self.timeout if self.timeout is not None else 30.0
        self.file = cast(TextIO, ReplyDeadlineReader(self.sock, self.encoding, timeout))
        return reply


class FtpSink:
    """An upload to an FTP or FTPS server, under a temporary name renamed at the end;
    an existing file of the final name is never replaced."""

    def __init__(
        self,
        location: UrlLocation,
        final_name: str,
        *,
        egress: EgressPolicy,
        timeout: float = 30.0,
    ) -> None:
        self.final_name = final_name
        url = urlsplit(location.url.get_secret_value())
        host, port = url.hostname or "", url.port or 21
        self.where = f"{host}:{port}"
        self.temp_name = partial_name(final_name)
        self._data: socket.socket | None = None
        self._ftp: ftplib.FTP = (
            BoundedFtpTls(timeout=timeout, context=ssl.create_default_context())
            if url.scheme == "ftps"
            else ftplib.FTP(timeout=timeout)
        )
        try:
            open_guarded(self._ftp, host, port, egress, timeout)
        except EgressNotAllowedError as refused:
            self._ftp.close()
            raise ExportFailedError(
                ExportFailureReason.NO_PERMISSION, refused.description
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            self._ftp.close()
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"cannot reach FTP server {self.where}: {error}"
            ) from None
        try:
            self._ftp.login(unquote(url.username or "anonymous"), unquote(url.password or ""))
            if isinstance(self._ftp, ftplib.FTP_TLS):
                self._ftp.prot_p()
        except ftplib.error_perm as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.NO_PERMISSION, f"FTP login to {self.where} refused: {error}"
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"FTP login to {self.where} failed: {error}"
            ) from None
        path = unquote(url.path) or "/"
        try:
            self._ftp.cwd(path)
        except ftplib.error_perm as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.WRONG_FILE_PATH, f"no directory {path} on {self.where}: {error}"
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"FTP server {self.where} failed: {error}"
            ) from None
        try:
            self._ftp.voidcmd("TYPE I")  # bytes as they are: an RDB is not text
            self._data = self._ftp.transfercmd(f"STOR {self.temp_name}")
        except ftplib.error_perm as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.NO_PERMISSION,
                f"cannot upload to {path} on {self.where}: {error}",
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            self._close()
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"upload to {self.where} failed: {error}"
            ) from None

    def write(self, data: bytes) -> None:
        assert self._data is not None
        try:
            self._data.sendall(data)
        except OSError as error:
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"upload to {self.where} broke: {error}"
            ) from None

    def commit(self) -> None:
        assert self._data is not None
        try:
            if isinstance(self._data, ssl.SSLSocket):
                self._data.unwrap()
            self._data.close()
            self._data = None
            self._ftp.voidresp()
            if self._exists(self.final_name):
                self.abort()
                raise ExportFailedError(
                    ExportFailureReason.GENERAL_ERROR,
                    f"{self.final_name} already exists on {self.where}; it was left as it was",
                )
            self._ftp.rename(self.temp_name, self.final_name)
        except (ftplib.Error, OSError, EOFError) as error:
            self.abort()
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"finishing the upload failed: {error}"
            ) from None
        self._close()

    def _exists(self, name: str) -> bool:
        try:
            self._ftp.size(name)
        except ftplib.error_perm:
            return False
        return True

    def abort(self) -> None:
        if self._data is not None:
            self._data.close()
            self._data = None
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                self._ftp.voidresp()
        with contextlib.suppress(ftplib.Error, OSError, EOFError):
            self._ftp.delete(self.temp_name)
        self._close()

    def _close(self) -> None:
        try:
            self._ftp.quit()
        except (ftplib.Error, OSError, EOFError):
            self._ftp.close()
