"""How many bytes an import may copy, judged before and while it copies.

A source says how big the file is (a local file's `fstat`, an FTP server's `SIZE`
reply) and then sends bytes; neither is trusted alone. Before copying, the announced
size is held against the target database's memory limit (its `maxmemory`: a file
larger than it cannot fit, `file-larger-than-mem-limit:<n>:<m>` as Redis Software
reports it), the server's `--import-max-bytes`, and the free space of the work
directory's disk (the file plus a reserve). While copying, the bytes so far are held
against the same bounds — and against the announced size: a source that announced 100
bytes and keeps sending is cut off at byte 101, not when the disk is full — with the
free space looked at again every `FREE_SPACE_EVERY` bytes (another import, or anything
else, may be filling the same disk).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason, MemLimitReason

from .limits import MIB

FREE_SPACE_EVERY = 64 * MIB


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still put on `directory`'s file system."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


@dataclass
class SizeCap:
    max_bytes: int
    """The server's `--import-max-bytes`."""
    directory: Path
    """Where the file is copied to: its disk's free space is checked."""
    free_reserve: int
    """Bytes to leave free on that disk."""
    memory_limit: int = 0
    """The target database's memory limit in bytes (0: none, or unknown)."""
    announced: int | None = None
    _overrun: ImportFailureReason = field(default=ImportFailureReason.GENERAL_ERROR, init=False)
    _next_space_check: int = field(default=0, init=False)

    def announce(self, size: int, overrun: ImportFailureReason) -> None:
        """The source says the file has `size` bytes; `overrun` is the failure reason
        for sending more than that (`download-error` for a server, `general-error`
        for a local file that grows)."""
        self.announced = size
        self._overrun = overrun
        self._within_limits(size)
        free = free_bytes(self.directory)
        if size + self.free_reserve > free:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"not enough free disk space to copy the file: it has {size} bytes, the"
                f" import's work directory has {free} bytes free and keeps"
                f" {self.free_reserve} bytes in reserve",
            )

    def copied(self, done: int) -> None:
        """`done` bytes are on the disk so far; raises once that is too many."""
        if self.announced is not None and done > self.announced:
            raise ImportFailedError(
                self._overrun,
                f"the source sent more than the {self.announced} bytes it announced; stopped there",
            )
        self._within_limits(done)
        if done >= self._next_space_check:
            self._next_space_check = done + FREE_SPACE_EVERY
            free = free_bytes(self.directory)
            if free < self.free_reserve:
                raise ImportFailedError(
                    ImportFailureReason.GENERAL_ERROR,
                    f"the disk of the import's work directory is nearly full ({free} bytes"
                    f" free, {self.free_reserve} kept in reserve); stopped after {done} bytes",
                )

    def _within_limits(self, size: int) -> None:
        if self.memory_limit and size > self.memory_limit:
            raise ImportFailedError(
                MemLimitReason.of(size, self.memory_limit),
                f"the file has at least {size} bytes, more than the database's memory"
                f" limit ({self.memory_limit} bytes, its maxmemory)",
            )
        if size > self.max_bytes:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the file has more than the {self.max_bytes} bytes an import may copy"
                " (the import size limit); stopped there",
            )
