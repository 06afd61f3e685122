"""The wire vocabularies of a bdb's export fields.

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


class ExportFailureReason(StrEnum):
    """Why the last export failed; the detail of the cause goes to logs, not here."""

    NO_PERMISSION = "no-permission"
    WRONG_FILE_PATH = "wrong-file-path"
    GENERAL_ERROR = "general-error"


class BdbStatus(StrEnum):
    """Lifecycle of the database itself; carried for compatibility, not driven here."""

    PENDING = "pending"
    ACTIVE = "active"
    ACTIVE_CHANGE_PENDING = "active-change-pending"
    DELETE_PENDING = "delete-pending"
    IMPORT_PENDING = "import-pending"
    CREATION_FAILED = "creation-failed"
    RECOVERY = "recovery"
