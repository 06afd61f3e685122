"""An export uploaded to an FTP or FTPS server, under a hidden temporary name renamed
when complete, through the egress policy and under time bounds on every step.

Every network step has a bound of `timeout` seconds: connecting (each address), every
control reply *as a whole* (a trickled banner or an endless multi-line reply included:
see `ftp_connection.py`), and every chunk sent on the data connection. So a destination
that stops making progress fails the export with `general-error` within `timeout`.
While a step waits, `waiting` (the worker's progress poke) runs about every
`SLICE` seconds: a cancel or a shutdown stops it, and `abort` then gives the cleanup
(removing the temporary file) at most `CLEANUP` seconds before the sockets are closed.
"""

from __future__ import annotations

import contextlib
import ftplib
import socket
import ssl
from urllib.parse import SplitResult, unquote, urlsplit

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import UrlLocation
from bdbexport.domain.statuses import ExportFailureReason

from .egress import EgressPolicy
from .ftp_connection import Waiting, open_ftp, send_all, set_waiting, within
from .sinks import partial_name

CLEANUP = 2.0
"""Seconds an aborted upload may spend removing its temporary file before hanging up."""


def _idle() -> None:
    return None


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
        waiting: Waiting = _idle,
    ) -> None:
        self.final_name = final_name
        url = urlsplit(location.url.get_secret_value())
        host, port = url.hostname or "", url.port or 21
        self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.temp_name = partial_name(final_name)
        self._timeout = timeout
        self._waiting = waiting
        self._data: socket.socket | None = None
        try:
            self._ftp = open_ftp(
                host,
                port,
                tls=url.scheme == "ftps",
                egress=egress,
                timeout=timeout,
                waiting=waiting,
            )
        except EgressNotAllowedError as refused:
            raise ExportFailedError(
                ExportFailureReason.NO_PERMISSION, refused.description
            ) from None
        except (ftplib.Error, OSError, EOFError) as error:
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR, f"cannot reach FTP server {self.where}: {error}"
            ) from None
        try:
            self._prepare(url)
        except ExportFailedError:
            raise
        except BaseException:
            self._hang_up()  # cancelled or stopping: let go of the server now
            raise

    def _prepare(self, url: SplitResult) -> None:
        """Log in, enter the directory, open the upload of the temporary file."""
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

    def write(self, data: bytes | memoryview) -> None:
        assert self._data is not None
        try:
            send_all(
                self._data,
                data,
                self._timeout,
                self._waiting,
                f"the FTP server took no data for {self._timeout:g}s",
            )
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
        """Remove the temporary file, within `CLEANUP` seconds whatever the server
        does (the export may have been cancelled: it must let go promptly)."""
        set_waiting(self._ftp, within(min(CLEANUP, self._timeout)))
        try:
            if self._data is not None:
                self._data.close()
                self._data = None
                with contextlib.suppress(ftplib.Error, OSError, EOFError):
                    self._ftp.voidresp()
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                self._ftp.delete(self.temp_name)
            self._close()
        finally:
            self._hang_up()

    def _close(self) -> None:
        set_waiting(self._ftp, within(min(CLEANUP, self._timeout)))
        try:
            self._ftp.quit()
        except (ftplib.Error, OSError, EOFError):
            pass
        finally:
            self._ftp.close()

    def _hang_up(self) -> None:
        if self._data is not None:
            with contextlib.suppress(OSError):
                self._data.close()
            self._data = None
        with contextlib.suppress(OSError):
            self._ftp.close()
