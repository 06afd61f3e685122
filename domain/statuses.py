"""The wire vocabularies of a bdb's action-status fields.

They are `StrEnum`s so that the exact strings Redis Software clients send and expect
(`"exporting"`, `"wrong-file-path"`, ...) are the values, and comparisons with plain
strings read naturally in adapters.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema


class ExportStatus(StrEnum):
    """Status of the manually triggered export; `idle` only ever follows a reset."""

    IDLE = "idle"
    EXPORTING = "exporting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportStatus(StrEnum):
    """Status of an import: `initializing` while the source is fetched and checked,
    `importing` once data is being loaded into the database."""

    IDLE = "idle"
    INITIALIZING = "initializing"
    IMPORTING = "importing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class BackupStatus(StrEnum):
    """Status of a (scheduled or on-demand) backup. Redis Software names its running
    state `exporting`: a backup is an export to the bdb's `backup_location`."""

    IDLE = "idle"
    EXPORTING = "exporting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ExportFailureReason(StrEnum):
    """Why the last export or backup failed; the detail of the cause goes to logs.

    Backups fail for the same reasons as exports, in the same words: the backup
    lifecycle's `reasons` is this enum itself (no alias names it twice)."""

    NO_PERMISSION = "no-permission"
    WRONG_FILE_PATH = "wrong-file-path"
    GENERAL_ERROR = "general-error"


MEM_LIMIT_PATTERN = r"^file-larger-than-mem-limit:[0-9]+:[0-9]+$"
"""`file-larger-than-mem-limit:<n>:<m>`: the reason as Redis Software reports it, with
the bytes of the expected dataset and the bdb's configured memory limit."""

_MEM_LIMIT = re.compile(MEM_LIMIT_PATTERN)


class ImportFailureReason(StrEnum):
    """Why the last import failed, in Redis Software's words; `no-permission` and
    `wrong-file-path` are the export's words, used for a source we may not read or that
    does not exist, as the issue asks (Redis Software lists only `download-error`).

    One reason carries numbers, as Redis Software reports it:
    `file-larger-than-mem-limit:<n bytes of expected dataset>:<n bytes configured bdb
    limit>`: `MemLimitReason`. The bare `file-larger-than-mem-limit` is still read
    (documents stored before the numbers were carried)."""

    NO_PERMISSION = "no-permission"
    WRONG_FILE_PATH = "wrong-file-path"
    DOWNLOAD_ERROR = "download-error"
    FILE_CORRUPTED = "file-corrupted"
    GENERAL_ERROR = "general-error"
    FILE_LARGER_THAN_MEM_LIMIT = "file-larger-than-mem-limit"
    KEY_TOO_LONG = "key-too-long"
    INVALID_BULK_LENGTH = "invalid-bulk-length"
    OUT_OF_MEMORY = "out-of-memory"


class MemLimitReason(str):
    """`file-larger-than-mem-limit:<n>:<m>`: the one import failure reason that carries
    numbers (the bytes of the expected dataset, the bdb's configured memory limit), as
    Redis Software reports it. A validated string of its own rather than an enum member:
    the words stay a closed `ImportFailureReason`, and a bdb's field takes either
    (`ImportFailureReasonValue`)."""

    __slots__ = ()

    def __new__(cls, value: str) -> MemLimitReason:
        if not isinstance(value, str) or _MEM_LIMIT.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a valid ImportFailureReason")
        return super().__new__(cls, value)

    @classmethod
    def of(cls, size: int, limit: int) -> MemLimitReason:
        """`file-larger-than-mem-limit:<size>:<limit>` (bytes, both non-negative)."""
        if size < 0 or limit < 0:
            raise ValueError("sizes are non-negative")
        return cls(f"file-larger-than-mem-limit:{size}:{limit}")

    @property
    def size(self) -> int:
        return int(self.split(":")[1])

    @property
    def limit(self) -> int:
        return int(self.split(":")[2])


MemLimitReasonField = Annotated[
    MemLimitReason,
    PlainValidator(MemLimitReason),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MEM_LIMIT_PATTERN}),
]
"""How pydantic reads, writes and documents a `MemLimitReason`: the pattern, as before."""

ImportFailureReasonValue = ImportFailureReason | MemLimitReasonField
"""A bdb's `import_failure_reason`: a word, or the reason with numbers."""


def import_failure_reason(value: str) -> ImportFailureReason | MemLimitReason:
    """The import vocabulary's parser: a word (the bare `file-larger-than-mem-limit`
    included, as documents stored before the numbers were carried say it), or the
    numbered reason; anything else is a `ValueError`."""
    try:
        return ImportFailureReason(value)
    except ValueError:
        return MemLimitReason(value)


class BdbStatus(StrEnum):
    """Lifecycle of the database itself; carried for compatibility, not driven here."""

    PENDING = "pending"
    ACTIVE = "active"
    ACTIVE_CHANGE_PENDING = "active-change-pending"
    DELETE_PENDING = "delete-pending"
    IMPORT_PENDING = "import-pending"
    CREATION_FAILED = "creation-failed"
    RECOVERY = "recovery"
