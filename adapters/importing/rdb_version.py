"""The only part of the RDB format we read ourselves: its 9-byte header
(`REDIS` and a 4-digit format version), so a file that is not an RDB, or is newer
than the target can take, is refused before any server is involved, with a reason
people understand. Everything after the header is read by Redis itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

_HEADER = re.compile(rb"REDIS([0-9]{4})")

RDB_VERSION_OF_RELEASE: tuple[tuple[tuple[int, int], int], ...] = (
    ((8, 0), 12),
    ((7, 4), 12),
    ((7, 2), 11),
    ((7, 0), 10),
    ((5, 0), 9),
    ((4, 0), 8),
    ((3, 2), 7),
    ((2, 6), 6),
)
"""The newest RDB format each Redis release reads (from the releases' `RDB_VERSION`),
newest first: a release reads its own version and every older one."""


HEADER_SIZE = 9


def version_in_header(header: bytes) -> int:
    """The RDB format version in a file's first `HEADER_SIZE` bytes; `file-corrupted`
    when they are not an RDB header. Checked as soon as those bytes arrive, before the
    rest of the file is copied. The detail never quotes the bytes: the file may be
    anything the server can read, and its content is not the client's to see."""
    match = _HEADER.fullmatch(header[:HEADER_SIZE])
    if match is None:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED,
            "not an RDB file (an RDB file starts with REDIS and a 4-digit format version)",
        )
    return int(match.group(1))


def rdb_version_of(path: Path) -> int:
    """The file's RDB format version; `file-corrupted` when it is not an RDB file."""
    with path.open("rb") as file:
        return version_in_header(file.read(HEADER_SIZE))


def readable_rdb_version(redis_version: str) -> int | None:
    """The newest RDB version a Redis release (`7.0.15`) reads; None if unparsable."""
    match = re.match(r"([0-9]+)\.([0-9]+)", redis_version)
    if match is None:
        return None
    release = (int(match.group(1)), int(match.group(2)))
    for first_release, version in RDB_VERSION_OF_RELEASE:
        if release >= first_release:
            return version
    return None


def check_readable(file_version: int, reader: str, redis_version: str) -> None:
    """Refuse a file newer than `reader` (a Redis at `redis_version`) accepts."""
    newest = readable_rdb_version(redis_version)
    if newest is not None and file_version > newest:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED,
            f"RDB format version {file_version} is newer than {reader} "
            f"(Redis {redis_version}) accepts (up to {newest})",
        )
