"""How every command fails: one error type carrying the code, the words, the exit code
and a hint that fits what happened."""

from __future__ import annotations

from .exit_codes import ExitCode, exit_code_of

RETRYABLE_CODES = frozenset(
    {"busy", "export_in_progress", "concurrent_update", "store_unavailable", "too_many_attempts"}
)
"""What `--retry-busy N` retries. `too_many_attempts` (429) is the server asking this
address to wait `Retry-After` seconds: retrying after that wait is what it asks for, and
the tries are bounded by N as for busy. `account_locked` is not: a lock lasts until its
time or an admin, and each try would count against the account."""

HINTS = {
    "busy": "retry later: the database is busy with another action (or use --retry-busy N).",
    "export_in_progress": "retry once the export has finished (or use --retry-busy N).",
    "concurrent_update": "retry: the database changed while the request ran.",
    "unauthenticated": "check --user and BDBEXPORT_PASSWORD.",
    "connection_error": "check --url: is the server running, and reachable from here?",
    "store_unavailable": "retry later: the store did not answer.",
    "too_many_attempts": (
        "wait the seconds the server asks, then retry (or use --retry-busy N, which waits them)."
    ),
    "export_path_not_allowed": (
        "locally the roots are the store's exports folder, the working directory and each"
        " --export-root DIR; a server's are its operator's (serve --export-root)."
    ),
}

RETRIED_HINTS = {
    "busy": "the database stayed busy with another action: retry later.",
    "export_in_progress": "the export was still running: retry once it has finished.",
    "concurrent_update": "the database kept changing: retry later.",
    "store_unavailable": "the store did not answer: retry later.",
    "too_many_attempts": "the server kept refusing sign-ins from this address: retry later.",
}
"""The hints once `--retry-busy N` has been spent: suggesting it again would not help."""


class CliError(Exception):
    def __init__(
        self,
        code: str,
        description: str,
        *,
        exit_code: ExitCode | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.exit_code = exit_code if exit_code is not None else exit_code_of(code)
        self.retry_after = retry_after
        self.retries = 0
        """How many times `--retry-busy` retried before giving up with this error."""
        self._hint = hint

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES

    @property
    def hint(self) -> str | None:
        if self._hint is not None:
            return self._hint
        if self.retries:
            times = "once" if self.retries == 1 else f"{self.retries} times"
            then = RETRIED_HINTS.get(self.code, "retry later.")
            return f"retried {times}; {then}"
        return HINTS.get(self.code)

    def as_dict(self) -> dict[str, str]:
        return {"error_code": self.code, "description": self.description}
