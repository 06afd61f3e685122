"""Exit codes: the one table, the same in local and remote mode (docs/cli.md)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    UNSUPPORTED_MODULES = 5
    RETRYABLE = 6
    CONNECTION = 7
    STORE = 8
    EXPORT_FAILED = 9
    INTERRUPTED = 130
    """Ctrl-C: 128 + SIGINT, as shells report a command killed by it."""


EXIT_CODE_OF_ERROR: Mapping[str, ExitCode] = MappingProxyType(
    {
        "unauthenticated": ExitCode.AUTH,
        "forbidden": ExitCode.AUTH,
        "db_not_exist": ExitCode.NOT_FOUND,
        "action_not_exist": ExitCode.NOT_FOUND,
        "no_backup_location": ExitCode.USAGE,
        "wait_timeout": ExitCode.RETRYABLE,
        "account_locked": ExitCode.AUTH,
        "too_many_attempts": ExitCode.RETRYABLE,
        "not_found": ExitCode.NOT_FOUND,
        "unsupported_module_capabilities": ExitCode.UNSUPPORTED_MODULES,
        "busy": ExitCode.RETRYABLE,
        "export_in_progress": ExitCode.RETRYABLE,
        "import_in_progress": ExitCode.RETRYABLE,
        "backup_in_progress": ExitCode.RETRYABLE,
        "concurrent_update": ExitCode.RETRYABLE,
        "store_unavailable": ExitCode.CONNECTION,
        "connection_error": ExitCode.CONNECTION,
        "incompatible_store": ExitCode.STORE,
        "store_unreadable": ExitCode.STORE,
        "invalid_schema": ExitCode.USAGE,
        "invalid_header": ExitCode.USAGE,
        "invalid_argument": ExitCode.USAGE,
        "unsupported_location_type": ExitCode.USAGE,
        "export_path_not_allowed": ExitCode.USAGE,
        "egress_not_allowed": ExitCode.USAGE,
        "config_error": ExitCode.USAGE,
    }
)
"""Every error code the CLI can meet, and the exit code it ends with; others are ERROR."""


def exit_code_of(error_code: str) -> ExitCode:
    return EXIT_CODE_OF_ERROR.get(error_code, ExitCode.ERROR)
