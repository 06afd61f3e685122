"""One typed hierarchy of refusals, each with a stable machine code.

Adapters translate `code` into an HTTP status or a CLI exit code, each in one table of
their own; nothing here knows about either. Codes use Redis Software's vocabulary where
it has a word (`db_not_exist`, `unsupported_module_capabilities`, `busy`), so clients
written against a real cluster recognise them. The module stands alone to avoid import
loops: every other domain module may raise these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar


class DomainError(Exception):
    """Base of every refusal the domain can give.

    `code` never changes once published; `description` is for humans and may be
    reworded. `retryable` tells callers whether the same request may succeed later
    without anything else changing (e.g. the database stops being busy).
    """

    code: ClassVar[str] = "domain_error"
    retryable: ClassVar[bool] = False

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"

    def as_dict(self) -> dict[str, str]:
        """The Redis Software error object: `{"error_code", "description"}`."""
        return {"error_code": self.code, "description": self.description}


class UnauthenticatedError(DomainError):
    """No principal: the caller did not prove who it is."""

    code = "unauthenticated"

    def __init__(self, description: str = "Authentication is required.") -> None:
        super().__init__(description)


class ForbiddenError(DomainError):
    """The principal's role lacks the permission the action requires."""

    code = "forbidden"

    def __init__(self, role: str, permission: str) -> None:
        super().__init__(f"Role '{role}' does not have the permission '{permission}'.")
        self.role = role
        self.permission = permission


class BdbNotFoundError(DomainError):
    """No database has this uid."""

    code = "db_not_exist"

    def __init__(self, uid: int) -> None:
        super().__init__(f"Database {uid} does not exist.")
        self.uid = uid


class ActionNotFoundError(DomainError):
    """No action record has this uid (never started here, or past its retention)."""

    code = "action_not_exist"

    def __init__(self, action_uid: str) -> None:
        super().__init__(f"Action {action_uid!r} does not exist.")
        self.action_uid = action_uid


class NoBackupLocationError(DomainError):
    """A backup was asked of a database with no `backup_location` (and none was given)."""

    code = "no_backup_location"

    def __init__(self, uid: int) -> None:
        super().__init__(
            f"Database {uid} has no backup_location: set one (`bdbexport db set {uid}"
            " --backup-path DIR` or `--backup-url URL`, or the bootstrap file) or name one"
            " in the request."
        )
        self.uid = uid


class UnsupportedModuleCapabilitiesError(DomainError):
    """A module loaded in the database lacks `backup_restore` or is unknown."""

    code = "unsupported_module_capabilities"

    def __init__(self, uid: int, modules: Iterable[str]) -> None:
        self.modules = tuple(modules)
        names = ", ".join(self.modules)
        super().__init__(
            f"Not all the modules loaded to database {uid} support the 'backup_restore'"
            f" capability: {names}."
        )
        self.uid = uid


class BusyError(DomainError):
    """Another action runs on the database; the same request may succeed later."""

    code = "busy"
    retryable = True

    def __init__(self, uid: int, action_uid: str) -> None:
        super().__init__(
            f"Database {uid} is currently busy with another action ({action_uid}); retry later."
        )
        self.uid = uid
        self.action_uid = action_uid


class ActionInProgressError(DomainError):
    """A reset was asked while that lifecycle's action runs; it may succeed once the
    action ends. One subclass per member of the family, each with its own code."""

    code = "action_in_progress"
    retryable = True
    kind: ClassVar[str] = "action"
    running_word: ClassVar[str] = "running an action"

    def __init__(self, uid: int) -> None:
        super().__init__(
            f"Database {uid} is {self.running_word}; its {self.kind} status can be reset"
            f" once the {self.kind} has finished."
        )
        self.uid = uid


class ExportInProgressError(ActionInProgressError):
    code = "export_in_progress"
    kind = "export"
    running_word = "exporting"


class ImportInProgressError(ActionInProgressError):
    code = "import_in_progress"
    kind = "import"
    running_word = "importing"


class BackupInProgressError(ActionInProgressError):
    code = "backup_in_progress"
    kind = "backup"
    running_word = "backing up"


IN_PROGRESS_ERRORS: dict[str, type[ActionInProgressError]] = {
    error.kind: error
    for error in (ExportInProgressError, ImportInProgressError, BackupInProgressError)
}
"""The in-progress refusal of each member of the family, by its kind's name."""


class InvalidTransitionError(DomainError):
    """The lifecycle has no such move from the current status."""

    code = "invalid_transition"

    def __init__(self, uid: int, trigger: str, status: str, kind: str = "export") -> None:
        super().__init__(f"Cannot {trigger} the {kind} of database {uid} while it is {status}.")
        self.uid = uid
        self.trigger = trigger
        self.status = status
        self.kind = kind


class LeaseNotExpiredError(DomainError):
    """Expiry was asked of an action whose lease still runs (or that holds none)."""

    code = "lease_not_expired"

    def __init__(self, uid: int) -> None:
        super().__init__(f"The running action of database {uid} still holds a valid lease.")
        self.uid = uid


class InvalidFailureReasonError(DomainError):
    """A worker reported a failure reason its lifecycle's vocabulary does not have."""

    code = "invalid_failure_reason"

    def __init__(self, uid: int, reason: str, kind: str) -> None:
        super().__init__(f"'{reason}' is not a failure reason of a {kind} (database {uid}).")
        self.uid = uid
        self.reason = reason


class InvalidProgressError(DomainError):
    """A progress report outside 0-100 or lower than the one already recorded."""

    code = "invalid_progress"

    def __init__(self, uid: int, progress: int, current: int, kind: str = "export") -> None:
        super().__init__(
            f"{kind.capitalize()} progress of database {uid} must be between {current} and 100,"
            f" got {progress}."
        )
        self.uid = uid
        self.progress = progress
        self.current = current


class ActionMismatchError(DomainError):
    """A worker reported on an export that is no longer the database's current action."""

    code = "action_mismatch"

    def __init__(self, uid: int, reported: str, current: str | None) -> None:
        super().__init__(
            f"Action {reported} is not the current action of database {uid}"
            f" (current: {current or 'none'})."
        )
        self.uid = uid
        self.reported = reported
        self.current = current


class ConcurrentUpdateError(DomainError):
    """Compare-and-set kept losing to other writers; nothing was changed."""

    code = "concurrent_update"
    retryable = True

    def __init__(self, uid: int, attempts: int) -> None:
        super().__init__(
            f"Database {uid} was changed concurrently {attempts} times in a row; retry later."
        )
        self.uid = uid
        self.attempts = attempts


class BdbAlreadyExistsError(DomainError):
    """A database with this uid is already stored."""

    code = "db_already_exists"

    def __init__(self, uid: int) -> None:
        super().__init__(f"Database {uid} already exists.")
        self.uid = uid


class UserAlreadyExistsError(DomainError):
    """A user with this email is already stored."""

    code = "user_already_exists"

    def __init__(self, email: str) -> None:
        super().__init__(f"User {email} already exists.")
        self.email = email


class AccountLockedError(UnauthenticatedError):
    """Too many failed sign-ins locked the account; even the right password is refused
    until the lock ends or an admin lifts it. `until` is seconds since the epoch (None:
    until an admin unlocks)."""

    code = "account_locked"

    def __init__(self, until: float | None) -> None:
        if until is None:
            when = "until an admin unlocks it"
        else:
            stamp = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
            when = f"until {stamp.replace('+00:00', 'Z')}"
        super().__init__(f"The account is locked after too many failed sign-ins, {when}.")
        self.until = until


class TooManyAttemptsError(DomainError):
    """Too many failed sign-ins came from one client address; it must wait
    `retry_after` seconds before the next one is even checked."""

    code = "too_many_attempts"
    retryable = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-ins from this address; retry in {retry_after} seconds."
        )
        self.retry_after = retry_after


class StoreUnavailableError(DomainError):
    """The store could not be reached or did not answer in time; nothing was changed."""

    code = "store_unavailable"
    retryable = True

    def __init__(self, detail: str) -> None:
        super().__init__(f"The store is unavailable: {detail}.")
        self.detail = detail


class IncompatibleStoreError(DomainError):
    """The store holds something that is not a bdbexport store this version can use."""

    code = "incompatible_store"

    def __init__(self, description: str) -> None:
        super().__init__(description)


class ExportPathNotAllowedError(DomainError):
    """A `mount_point` path that does not resolve inside one of the server's export
    roots. The description is the same whatever the path: it names nothing on the
    server's file system, so the refusal cannot serve as a probe of it."""

    code = "export_path_not_allowed"

    def __init__(self) -> None:
        super().__init__(
            "The path is not inside an export root of this server"
            " (the operator chooses them with --export-root)."
        )


class EgressNotAllowedError(DomainError):
    """A remote export destination or import source the server's egress policy refuses
    (by default loopback, link-local and the store's own addresses)."""

    code = "egress_not_allowed"

    def __init__(self) -> None:
        super().__init__(
            "The export destination's or import source's host is not one this server may"
            " connect to (the operator allows hosts with --allow-egress)."
        )


class UnsupportedLocationTypeError(DomainError):
    """A location type the chosen exporter or importer cannot serve: refused at the
    start, before anything is recorded, in a server (400) and locally (exit 2) alike."""

    code = "unsupported_location_type"

    def __init__(self, what: str, location_type: str, supported: Iterable[str]) -> None:
        listed = ", ".join(sorted(supported))
        super().__init__(
            f"{what} location type '{location_type}' are not supported here;"
            f" supported types: {listed}."
        )
        self.location_type = location_type
