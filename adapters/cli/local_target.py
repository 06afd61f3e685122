"""Local mode: the use cases called directly on a store, as a principal of the store.

Opening the store's file is already full power over it, so no password is asked: the
principal is `--as USER` (a user of the store, with that user's role) or a local admin.
An export started locally runs in this process, in the foreground, through the same
worker pool and exporter as the server's, and the command returns when it ends.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import Action
from bdbexport.domain.auth.lockout import user_subject
from bdbexport.domain.auth.passwords import hash_password
from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb, Endpoint, ModuleRef
from bdbexport.domain.errors import (
    BdbNotFoundError,
    DomainError,
    ForbiddenError,
    NoBackupLocationError,
    UnauthenticatedError,
)
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.modules import CatalogModule
from bdbexport.domain.permissions import Role
from bdbexport.domain.principal import Principal

from .errors import CliError
from .settings import RemoteOptions
from .wiring import LocalRuntime

T = TypeVar("T")
CAS_ATTEMPTS = 5
_BRACKETED = re.compile(r"\[(?P<host>[0-9A-Fa-f:.%A-Za-z]+)\]:(?P<port>[0-9]{1,5})")
_HOST_PORT = re.compile(r"(?P<host>[^:\[\]\s]+):(?P<port>[0-9]{1,5})")
_NUMERIC = re.compile(r"[0-9.]+")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
LOCAL_ADMIN = Principal("local-admin", Role.ADMIN)
START_ACTIONS = {
    ActionKind.EXPORT: Action.START,
    ActionKind.IMPORT: Action.START_IMPORT,
    ActionKind.BACKUP: Action.START_BACKUP,
}
LOCATIONS: TypeAdapter[ExportLocation] = TypeAdapter(ExportLocation)


def describe_validation(error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        parts = [str(part) for part in problem["loc"] if "[" not in str(part)]
        problems.append(f"{'.'.join(parts) or 'value'}: {problem['msg']}")
    return "; ".join(problems)


def parse_endpoint(text: str) -> Endpoint:
    """`HOST:PORT` (`[::1]:6379` for an IPv6 address) as a bdb's endpoint; anything
    else is a usage error."""
    bracketed = _BRACKETED.fullmatch(text)
    plain = _HOST_PORT.fullmatch(text)
    match = bracketed or plain
    usage = f"--endpoint {text!r}: expected HOST:PORT (an IPv6 address in brackets: [::1]:6379)"
    if match is None:
        raise CliError("invalid_argument", usage)
    host, port = match.group("host"), int(match.group("port"))
    if not 1 <= port <= 65535:
        raise CliError("invalid_argument", f"{usage}; the port must be 1-65535")
    if bracketed is not None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise CliError("invalid_argument", f"{usage}; {host!r} is no IPv6 address") from None
    elif not _HOSTNAME.fullmatch(host) or (_NUMERIC.fullmatch(host) and not _is_ipv4(host)):
        raise CliError("invalid_argument", f"{usage}; {host!r} is no host name or IPv4 address")
    return Endpoint(addr=(host,), port=port)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def parse_location(document: Any) -> ExportLocation:
    if isinstance(document, str):
        document = {"type": "url", "url": document}
    try:
        return LOCATIONS.validate_python(document)
    except ValidationError as error:
        raise CliError(
            "invalid_schema", f"invalid location: {describe_validation(error)}"
        ) from error


class LocalTarget:
    def __init__(
        self,
        runtime: LocalRuntime,
        *,
        as_user: str | None,
        export_roots: Sequence[Path] = (),
        remote_options: RemoteOptions | None = None,
    ) -> None:
        self.runtime = runtime
        self.service = runtime.service
        self.principal = self._principal(as_user)
        self.export_roots = tuple(export_roots)
        """Added to the local roots (`bdbexport --export-root DIR`)."""
        self.remote_options = remote_options or RemoteOptions()

    def _principal(self, as_user: str | None) -> Principal:
        if as_user is None:
            return LOCAL_ADMIN
        user = self.runtime.users.get(as_user)
        if user is None:
            raise CliError("unauthenticated", f"no user {as_user} in the store")
        return user.principal

    def close(self) -> None:
        self.runtime.close()

    # --- the family's operations, answering wire dicts like the remote target -------------

    def list_bdbs(self) -> list[dict[str, Any]]:
        return [bdb.to_wire() for bdb in self._call(lambda: self.service.list_bdbs(self.principal))]

    def get_bdb(self, uid: int) -> dict[str, Any]:
        return self._call(lambda: self.service.get_bdb(self.principal, uid)).to_wire()

    def list_modules(self) -> list[dict[str, Any]]:
        modules = self._call(lambda: list(self.service.list_modules(self.principal)))
        return [
            {
                "uid": module.uid or module.module_name,
                "module_name": module.module_name,
                "semantic_version": module.semantic_version,
                "capabilities": sorted(module.capabilities),
            }
            for module in modules
        ]

    def start_action(
        self,
        kind: ActionKind,
        uid: int,
        location: ExportLocation | None,
        on_progress: Callable[[int], None],
        worker: str = "rdb",
        *,
        flush: bool = False,
    ) -> dict[str, Any]:
        """Start `kind` and run it here, with the exporter or importer `worker` names;
        returns the bdb when it has ended. Judged in the one order (docs/domain.md): the
        permission first, so a principal without it learns nothing about locations;
        then the location as a server judges it at the start (type, roots, egress),
        before anything is recorded; then the rules, by the use case. A backup with no
        `location` goes to the bdb's `backup_location`."""
        self._permitted(START_ACTIONS[kind])
        where = location if location is not None else self._backup_location(uid)
        self._call(
            lambda: self.runtime.check_location(
                where,
                kind=kind,
                worker=worker,
                export_roots=self.export_roots,
                remote_options=self.remote_options,
            )
        )
        started = self._call(lambda: self.service.start_action(self.principal, uid, where, kind))
        self.runtime.run_action(
            started,
            where,
            kind=kind,
            flush=flush,
            worker=worker,
            on_progress=on_progress,
            export_roots=self.export_roots,
            remote_options=self.remote_options,
        )
        return self.get_bdb(uid)

    def _permitted(self, action: Action) -> None:
        """The permission step alone (the rules engine's first check)."""
        refusal = self.service.evaluate(self.principal, action, None).error
        if isinstance(refusal, ForbiddenError | UnauthenticatedError):
            raise CliError(refusal.code, refusal.description)

    def explain(self, uid: int, action: Action) -> dict[str, Any]:
        """The rules engine's decision. A backup's start names no location here, so it
        goes to the bdb's `backup_location`, which is judged as a server judges a
        body-less dry run (after the permission, before the rules): none is the
        `no_backup_location` error, not a decision."""
        decision = self.service.evaluate(self.principal, action, uid)
        gates = ForbiddenError | UnauthenticatedError | BdbNotFoundError
        if action is Action.START_BACKUP and not isinstance(decision.error, gates):
            where = self._backup_location(uid)
            self._call(
                lambda: self.runtime.check_location(
                    where,
                    kind=ActionKind.BACKUP,
                    worker="rdb",
                    export_roots=self.export_roots,
                    remote_options=self.remote_options,
                )
            )
        return decision.to_dict()

    # --- imports, backups and the Actions API ---------------------------------------------

    def reset_kind(self, uid: int, kind: ActionKind) -> dict[str, Any]:
        return self._call(lambda: self.service.reset_status(self.principal, uid, kind)).to_wire()

    def _backup_location(self, uid: int) -> ExportLocation:
        """The bdb's `backup_location` (a backup asked without one)."""
        bdb = self._call(lambda: self.service.get_bdb(self.principal, uid))
        if bdb.backup_location is None:
            raise CliError(NoBackupLocationError.code, NoBackupLocationError(uid).description)
        return bdb.backup_location

    def list_actions(self, bdb_uid: int | None = None) -> list[dict[str, Any]]:
        records = self._call(
            lambda: list(self.service.list_actions(self.principal, bdb_uid=bdb_uid))
        )
        return [record.to_wire() for record in records]

    def get_action(self, action_uid: str) -> dict[str, Any]:
        return self._call(lambda: self.service.get_action(self.principal, action_uid)).to_wire()

    def cancel_action(self, action_uid: str) -> dict[str, Any]:
        return self._call(lambda: self.service.cancel(self.principal, action_uid)).to_wire()

    # --- local administration ----------------------------------------------------------

    def add_bdb(
        self, uid: int, name: str, modules: list[str], endpoints: list[Endpoint] | None = None
    ) -> dict[str, Any]:
        try:
            bdb = Bdb(
                uid=uid,
                name=name,
                module_list=[ModuleRef(module_name=m) for m in modules],
                endpoints=tuple(endpoints or ()),
            )
        except ValidationError as error:
            raise CliError("invalid_schema", describe_validation(error)) from error
        # As in Redis Software, a database loads only modules the cluster has: a typo
        # would otherwise make a bdb whose every export is refused (unknown capabilities).
        unknown = self._call(
            lambda: [m for m in dict.fromkeys(modules) if self.runtime.modules.get(m) is None]
        )
        if unknown:
            names = ", ".join(repr(m) for m in unknown)
            raise CliError(
                "invalid_argument",
                f"no module {names} in the catalog (see `bdbexport module list`)",
                hint=f"add it first: bdbexport module add {unknown[0]} --version V"
                " --capability backup_restore",
            )
        self._call(lambda: self.runtime.bdbs.add(bdb))
        return bdb.to_wire()

    def set_endpoints(self, uid: int, endpoints: list[Endpoint]) -> dict[str, Any]:
        """Store the bdb with new `endpoints`: a compare-and-set on its revision, tried
        again (on the fresh record) when another writer got there first."""
        for _ in range(CAS_ATTEMPTS):
            bdb = self._call(lambda: self.runtime.bdbs.get(uid))
            if bdb is None:
                raise CliError("db_not_exist", f"Database {uid} does not exist.")
            changed = bdb.model_copy(
                update={"endpoints": tuple(endpoints), "revision": bdb.revision + 1}
            )
            if self._call(partial(self.runtime.bdbs.save, changed, expected_revision=bdb.revision)):
                return changed.to_wire()
        raise CliError(
            "concurrent_update",
            f"Database {uid} kept changing: its endpoint was not set after {CAS_ATTEMPTS}"
            " attempts.",
        )

    def set_backup_settings(self, uid: int, settings: dict[str, Any]) -> dict[str, Any]:
        """Store the bdb with new backup settings (`backup`, `backup_interval`,
        `backup_interval_offset`, `backup_location`), validated as a whole bdb; a
        compare-and-set on its revision, tried again when another writer got there first."""
        for _ in range(CAS_ATTEMPTS):
            bdb = self._call(lambda: self.runtime.bdbs.get(uid))
            if bdb is None:
                raise CliError("db_not_exist", f"Database {uid} does not exist.")
            try:
                draft = bdb.model_copy(update={**settings, "revision": bdb.revision + 1})
                changed = Bdb.model_validate_json(draft.to_storage_json())
            except ValidationError as error:
                raise CliError("invalid_schema", describe_validation(error)) from error
            if settings.get("backup_location") is not None:
                self._check_backup_location(changed)
            if self._call(partial(self.runtime.bdbs.save, changed, expected_revision=bdb.revision)):
                return changed.to_wire()
        raise CliError(
            "concurrent_update",
            f"Database {uid} kept changing: its backup settings were not set after"
            f" {CAS_ATTEMPTS} attempts.",
        )

    def _check_backup_location(self, bdb: Bdb) -> None:
        """A new `backup_location` judged as a backup's start judges it (the same
        `check_location`: type served, inside the roots, host the egress policy allows),
        so a place every scheduled backup would fail on is refused when it is set."""
        location = bdb.backup_location
        if location is None:
            return
        self._call(
            lambda: self.runtime.check_location(
                location,
                kind=ActionKind.BACKUP,
                export_roots=self.export_roots,
                remote_options=self.remote_options,
            )
        )

    def add_module(self, name: str, version: str, capabilities: list[str]) -> dict[str, Any]:
        try:
            module = CatalogModule(
                module_name=name, semantic_version=version, capabilities=capabilities
            )
        except ValidationError as error:
            raise CliError("invalid_schema", describe_validation(error)) from error
        self.runtime.modules.add(module)
        return {
            "module_name": module.module_name,
            "semantic_version": module.semantic_version,
            "capabilities": sorted(module.capabilities),
        }

    def add_user(self, email: str, role: str, password: str) -> dict[str, Any]:
        if role not in set(Role):
            roles = ", ".join(r.value for r in Role)
            raise CliError("invalid_argument", f"unknown role {role!r}; roles: {roles}")
        if not password:
            raise CliError("invalid_argument", "the password is empty")
        try:
            user = User(email=email, role=role, password_hash=hash_password(password))
        except ValidationError as error:
            raise CliError("invalid_schema", describe_validation(error)) from error
        self._call(lambda: self.runtime.users.add(user))
        return {"email": user.email, "role": user.role}

    def set_password(self, email: str, password: str) -> dict[str, Any]:
        if not password:
            raise CliError("invalid_argument", "the password is empty")
        user = self._call(lambda: self.runtime.users.get(email))
        if user is None:
            raise CliError("not_found", f"no user {email} in the store")
        changed = User(email=user.email, role=user.role, password_hash=hash_password(password))
        if not self._call(lambda: self.runtime.users.replace(changed)):
            raise CliError("not_found", f"no user {email} in the store")
        return {"email": changed.email, "role": changed.role}

    def unlock_user(self, email: str) -> dict[str, Any]:
        """Lift `email`'s sign-in lock in the store (every replica sees it at once)."""
        was_locked = self._call(
            lambda: self.runtime.login_attempts.clear(user_subject(email), time.time())
        )
        return {"email": email, "was_locked": was_locked}

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except DomainError as error:
            raise CliError(error.code, error.description) from error
