"""Fetching the file to import into a private work directory, with the failure reason
each real cause deserves.

A `mount_point` location names the file itself (`/backups/db1.rdb`), a `url` location
an FTP/FTPS URL ending in the file's name, as in Redis Software's
`dataset_import_sources`. The file is copied, not read in place: the loader then works
on bytes nobody can change under it, and a source on a slow share is read once.

- a path that does not exist, or names a directory: `wrong-file-path`;
- a file we may not read, a refused FTP login: `no-permission`;
- an FTP file that does not exist: `wrong-file-path`;
- an FTP server that cannot be reached or breaks off: `download-error`;
- anything else: `general-error`.
"""

from __future__ import annotations

import contextlib
import ftplib
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ImportFailureReason

CHUNK = 1024 * 1024
SUPPORTED_SOURCE_TYPES = frozenset({"mount_point", "url"})

Fraction = Callable[[float], None]
"""Told how much of the file has arrived (0 to 1) after each chunk; may raise to stop."""


def fetch(source: ExportLocation, destination: Path, fraction: Fraction, *, timeout: float) -> None:
    """Copy the file `source` names to `destination` (a new file)."""
    if isinstance(source, MountPointLocation):
        _copy_local(Path(source.path), destination, fraction)
    elif isinstance(source, UrlLocation):
        _download_ftp(source, destination, fraction, timeout=timeout)
    else:
        raise ImportFailedError(
            ImportFailureReason.GENERAL_ERROR, f"no importer for location type {source.type}"
        )


def _copy_local(path: Path, destination: Path, fraction: Fraction) -> None:
    try:
        if path.is_dir():
            raise ImportFailedError(
                ImportFailureReason.WRONG_FILE_PATH, f"{path} is a directory, not a file"
            )
        reader = path.open("rb")
    except FileNotFoundError as error:
        raise ImportFailedError(ImportFailureReason.WRONG_FILE_PATH, f"no file {path}") from error
    except PermissionError as error:
        raise ImportFailedError(
            ImportFailureReason.NO_PERMISSION, f"cannot read {path}: {error.strerror}"
        ) from error
    except OSError as error:
        raise ImportFailedError(
            ImportFailureReason.GENERAL_ERROR, f"cannot open {path}: {error}"
        ) from error
    with reader, destination.open("xb") as writer:
        try:
            total = max(path.stat().st_size, 1)
            done = 0
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                done += len(chunk)
                fraction(min(done / total, 1.0))
        except PermissionError as error:
            raise ImportFailedError(
                ImportFailureReason.NO_PERMISSION, f"cannot read {path}: {error.strerror}"
            ) from error
        except OSError as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR, f"reading {path} failed: {error}"
            ) from error


def _download_ftp(
    source: UrlLocation, destination: Path, fraction: Fraction, *, timeout: float
) -> None:
    url = urlsplit(source.url.get_secret_value())
    where = f"{url.hostname}:{url.port or 21}"
    path = unquote(url.path)
    if not path or path.endswith("/"):
        raise ImportFailedError(
            ImportFailureReason.WRONG_FILE_PATH, f"the URL names no file on {where}: {path!r}"
        )
    ftp: ftplib.FTP = (
        ftplib.FTP_TLS(timeout=timeout, context=ssl.create_default_context())
        if url.scheme == "ftps"
        else ftplib.FTP(timeout=timeout)
    )
    try:
        try:
            ftp.connect(url.hostname or "", url.port or 21)
        except OSError as error:
            raise ImportFailedError(
                ImportFailureReason.DOWNLOAD_ERROR, f"cannot reach FTP server {where}: {error}"
            ) from error
        try:
            ftp.login(unquote(url.username or "anonymous"), unquote(url.password or ""))
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
        except ftplib.error_perm as error:
            raise ImportFailedError(
                ImportFailureReason.NO_PERMISSION, f"FTP login to {where} refused: {error}"
            ) from error
        except (ftplib.Error, OSError) as error:
            raise ImportFailedError(
                ImportFailureReason.DOWNLOAD_ERROR, f"FTP login to {where} failed: {error}"
            ) from error
        _retrieve(ftp, path, where, destination, fraction)
    finally:
        if ftp.sock is not None:
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                ftp.quit()
        ftp.close()


def _retrieve(
    ftp: ftplib.FTP, path: str, where: str, destination: Path, fraction: Fraction
) -> None:
    total = 0
    with contextlib.suppress(ftplib.Error, OSError, ValueError, TypeError):
        ftp.voidcmd("TYPE I")
        total = ftp.size(path) or 0
    done = 0
    with destination.open("xb") as writer:

        def received(chunk: bytes) -> None:
            nonlocal done
            writer.write(chunk)
            done += len(chunk)
            if total:
                fraction(min(done / total, 1.0))

        try:
            ftp.retrbinary(f"RETR {path}", received, blocksize=CHUNK)
        except ftplib.error_perm as error:
            said = str(error).lower()
            reason = (
                ImportFailureReason.NO_PERMISSION
                if "permission" in said or "privilege" in said
                else ImportFailureReason.WRONG_FILE_PATH
            )
            raise ImportFailedError(
                reason, f"cannot download {path} from {where}: {error}"
            ) from error
        except (ftplib.Error, OSError, EOFError) as error:
            raise ImportFailedError(
                ImportFailureReason.DOWNLOAD_ERROR,
                f"download of {path} from {where} broke: {error}",
            ) from error
