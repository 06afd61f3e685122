"""How every command fails: one error type carrying the code, the words and the exit code."""

from __future__ import annotations

from .exit_codes import ExitCode, exit_code_of

RETRYABLE_CODES = frozenset(
    {"busy", "export_in_progress", "concurrent_update", "store_unavailable"}
)

HINTS = {
    "busy": "retry later: the database is busy with another action (or use --retry-busy N).",
    "export_in_progress": "retry once the export has finished (or use --retry-busy N).",
    "concurrent_update": "retry: the database changed while the request ran.",
    "unauthenticated": "check --user and BDBEXPORT_PASSWORD.",
    "connection_error": "check --url, and --insecure or --ca-file for a self-signed certificate.",
    "store_unavailable": "retry later: the store did not answer.",
}


class CliError(Exception):
    def __init__(
        self,
        code: str,
        description: str,
        *,
        exit_code: ExitCode | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.exit_code = exit_code if exit_code is not None else exit_code_of(code)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES

    @property
    def hint(self) -> str | None:
        return HINTS.get(self.code)

    def as_dict(self) -> dict[str, str]:
        return {"error_code": self.code, "description": self.description}
