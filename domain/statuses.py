"""The wire vocabularies of a bdb's action-status fields.

They are `StrEnum`s so that the exact strings Redis Software clients send and expect
(`"exporting"`, `"wrong-file-path"`, ...) are the values, and comparisons with plain
strings read naturally in adapters.
"""

from __future__ import annotations

from enum import StrEnum


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


class ImportFailureReason(StrEnum):
    """Why the last import failed, in Redis Software's words; `no-permission` and
    `wrong-file-path` are the export's words, used for a source we may not read or that
    does not exist, as the issue asks (Redis Software lists only `download-error`)."""

    NO_PERMISSION = "no-permission"
    WRONG_FILE_PATH = "wrong-file-path"
    DOWNLOAD_ERROR = "download-error"
    FILE_CORRUPTED = "file-corrupted"
    GENERAL_ERROR = "general-error"
    FILE_LARGER_THAN_MEM_LIMIT = "file-larger-than-mem-limit"
    KEY_TOO_LONG = "key-too-long"
    INVALID_BULK_LENGTH = "invalid-bulk-length"
    OUT_OF_MEMORY = "out-of-memory"


class BdbStatus(StrEnum):
    """Lifecycle of the database itself; carried for compatibility, not driven here."""

    PENDING = "pending"
    ACTIVE = "active"
    ACTIVE_CHANGE_PENDING = "active-change-pending"
    DELETE_PENDING = "delete-pending"
    IMPORT_PENDING = "import-pending"
    CREATION_FAILED = "creation-failed"
    RECOVERY = "recovery"
