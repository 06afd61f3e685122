"""Where the snapshot's bytes go, and what every destination promises: the data is
written under a hidden temporary name and published under its final name only once
the last byte is safe, so a failure never leaves a truncated file under the final name;
and publishing never replaces a file that is already there.

`DirectorySink` writes into a `mount_point` directory inside an export root; the FTP
destination is in `ftp_sink.py`. Failure reasons come from real causes: a directory
that does not exist is `wrong-file-path`, one that cannot be written (or that is not
inside an export root) `no-permission`; anything else (disk full, a file of the same
name already there, ...) is `general-error`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bdbexport.domain.errors import ExportPathNotAllowedError
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import MountPointLocation
from bdbexport.domain.statuses import ExportFailureReason

from .export_roots import ExportRoots

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
PARTIAL_SUFFIX = ".partial"
PARTIAL_NAME = re.compile(
    r"^\.(?P<final>.+-db(?P<uid>[0-9]+)-(?P<action>[A-Za-z0-9_-]+)\.rdb)\.partial$"
)
"""A temporary file of ours: `.<final name>.partial`, the final name carrying the bdb
uid and the action uid, which is how housekeeping knows whose it is."""

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._")


def file_name(bdb_name: str, at: datetime, uid: int, action_uid: str) -> str:
    """`<bdb name>-<UTC timestamp>-db<uid>-<action uid>.rdb`, made safe for any file
    system. The uid and the action uid make it unique: two bdbs whose names differ
    only in unsafe characters (`orders`, `orders!`), or two exports of one bdb in the
    same second, never share a name."""
    return (
        f"{_safe(bdb_name) or 'bdb'}-{at.strftime('%Y%m%dT%H%M%SZ')}"
        f"-db{uid}-{_safe(action_uid) or 'action'}.rdb"
    )


def partial_name(final_name: str) -> str:
    return f".{final_name}{PARTIAL_SUFFIX}"


class Sink(Protocol):
    final_name: str

    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


def _failed(reason: ExportFailureReason, detail: str) -> ExportFailedError:
    return ExportFailedError(reason, detail)


def _why(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _reason_of(error: OSError) -> ExportFailureReason:
    if error.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        return ExportFailureReason.NO_PERMISSION
    return ExportFailureReason.GENERAL_ERROR


class DirectorySink:
    """A file in a directory inside an export root: created exclusively under a
    temporary name (`O_EXCL`, never following a symlink), fsynced, published with
    `link()` (which fails rather than replace an existing file), the temporary name
    removed, the directory fsynced. Every step goes through a descriptor of the
    directory opened once, so swapping a symlink meanwhile cannot redirect the file."""

    def __init__(self, location: MountPointLocation, final_name: str, roots: ExportRoots) -> None:
        self.shown = location.path
        """The path as the client wrote it: what failure details may mention."""
        self.final_name = final_name
        self.temp_name = partial_name(final_name)
        self._fd = -1
        self._directory = -1
        try:
            resolved = roots.resolve(location.path)
        except ExportPathNotAllowedError as refused:
            raise _failed(ExportFailureReason.NO_PERMISSION, refused.description) from None
        try:
            self._directory = os.open(resolved, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise _failed(
                ExportFailureReason.WRONG_FILE_PATH, f"{self.shown} is not a directory"
            ) from None
        except NotADirectoryError:
            raise _failed(
                ExportFailureReason.WRONG_FILE_PATH, f"{self.shown} is not a directory"
            ) from None
        except OSError as error:
            # ELOOP: the last component became a symlink after it was resolved.
            raise _failed(
                ExportFailureReason.NO_PERMISSION, f"cannot open {self.shown}: {_why(error)}"
            ) from None
        try:
            self._confirm_inside(roots)
            self._fd = os.open(self.temp_name, _CREATE, 0o600, dir_fd=self._directory)
        except ExportFailedError:
            self._close_directory()
            raise
        except OSError as error:
            self._close_directory()
            raise _failed(
                _reason_of(error), f"cannot create a file in {self.shown}: {_why(error)}"
            ) from None

    def _confirm_inside(self, roots: ExportRoots) -> None:
        """Where the opened directory really is (a component may have been swapped for
        a symlink between resolving and opening): still inside a root, or refused."""
        try:
            actual = Path(os.readlink(f"/proc/self/fd/{self._directory}"))
        except OSError:
            return  # no /proc here: the resolved path and O_NOFOLLOW are all we have
        if not roots.contains(actual):
            raise _failed(
                ExportFailureReason.NO_PERMISSION, ExportPathNotAllowedError().description
            )

    def write(self, data: bytes | memoryview) -> None:
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            raise _failed(
                _reason_of(error), f"writing in {self.shown} failed: {_why(error)}"
            ) from None

    def commit(self) -> None:
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.link(
                self.temp_name,
                self.final_name,
                src_dir_fd=self._directory,
                dst_dir_fd=self._directory,
                follow_symlinks=False,
            )
        except FileExistsError:
            self.abort()
            raise _failed(
                ExportFailureReason.GENERAL_ERROR,
                f"{self.final_name} already exists in {self.shown}; it was left as it was",
            ) from None
        except OSError as error:
            self.abort()
            raise _failed(
                ExportFailureReason.GENERAL_ERROR, f"saving failed: {_why(error)}"
            ) from None
        try:
            os.unlink(self.temp_name, dir_fd=self._directory)
            os.fsync(self._directory)
        except OSError:
            pass  # the file is complete under its final name; a stray temp name is swept
        finally:
            self._close_directory()

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._directory >= 0:
            with contextlib.suppress(OSError):
                os.unlink(self.temp_name, dir_fd=self._directory)
            self._close_directory()

    def _close_directory(self) -> None:
        if self._directory >= 0:
            os.close(self._directory)
            self._directory = -1
