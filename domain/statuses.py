"""The wire vocabularies of a bdb's action-status fields.

They are `StrEnum`s so that the exact strings Redis Software clients send and expect
(`"exporting"`, `"wrong-file-path"`, ...) are the values, and comparisons with plain
strings read naturally in adapters.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue


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
    limit>`. The bare `file-larger-than-mem-limit` is still read (documents stored
    before the numbers were carried)."""

    NO_PERMISSION = "no-permission"
    WRONG_FILE_PATH = "wrong-file-path"
    DOWNLOAD_ERROR = "download-error"
    FILE_CORRUPTED = "file-corrupted"
    GENERAL_ERROR = "general-error"
    FILE_LARGER_THAN_MEM_LIMIT = "file-larger-than-mem-limit"
    KEY_TOO_LONG = "key-too-long"
    INVALID_BULK_LENGTH = "invalid-bulk-length"
    OUT_OF_MEMORY = "out-of-memory"

    @classmethod
    def file_larger_than_mem_limit(cls, size: int, limit: int) -> ImportFailureReason:
        """`file-larger-than-mem-limit:<size>:<limit>` (bytes, both non-negative)."""
        if size < 0 or limit < 0:
            raise ValueError("sizes are non-negative")
        return cls(f"file-larger-than-mem-limit:{size}:{limit}")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The OpenAPI document says it too: a listed word, or the reason with numbers."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        words = {key: schema.pop(key) for key in ("enum", "type") if key in schema}
        schema["anyOf"] = [words, {"type": "string", "pattern": MEM_LIMIT_PATTERN}]
        return schema

    @classmethod
    def _missing_(cls, value: object) -> ImportFailureReason | None:
        """`file-larger-than-mem-limit:<n>:<m>` is a member too (named
        `FILE_LARGER_THAN_MEM_LIMIT`, the numbers in its value; Enum's documented hook,
        as `Flag` makes its combined members), so every field typed with this enum takes
        it, pydantic's validation included; anything else is refused as before."""
        if not isinstance(value, str) or _MEM_LIMIT.fullmatch(value) is None:
            return None
        member = str.__new__(cls, value)
        member._name_ = "FILE_LARGER_THAN_MEM_LIMIT"
        member._value_ = value
        return member


class BdbStatus(StrEnum):
    """Lifecycle of the database itself; carried for compatibility, not driven here."""

    PENDING = "pending"
    ACTIVE = "active"
    ACTIVE_CHANGE_PENDING = "active-change-pending"
    DELETE_PENDING = "delete-pending"
    IMPORT_PENDING = "import-pending"
    CREATION_FAILED = "creation-failed"
    RECOVERY = "recovery"
