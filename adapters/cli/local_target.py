"""Local mode: the use cases called directly on a store, as a principal of the store.

Opening the store's file is already full power over it, so no password is asked: the
principal is `--as USER` (a user of the store, with that user's role) or a local admin.
An export started locally runs in this process, in the foreground, through the same
worker pool and exporter as the server's, and the command returns when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bdbexport.domain.actions import Action
from bdbexport.domain.bdb import Bdb, ModuleRef
from bdbexport.domain.errors import DomainError
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.modules import CatalogModule
from bdbexport.domain.passwords import hash_password
from bdbexport.domain.permissions import Role
from bdbexport.domain.principal import Principal
from bdbexport.domain.users import User

from .errors import CliError
from .wiring import LocalRuntime

T = TypeVar("T")
LOCAL_ADMIN = Principal("local-admin", Role.ADMIN)
LOCATIONS: TypeAdapter[ExportLocation] = TypeAdapter(ExportLocation)


def describe_validation(error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        parts = [str(part) for part in problem["loc"] if "[" not in str(part)]
        problems.append(f"{'.'.join(parts) or 'value'}: {problem['msg']}")
    return "; ".join(problems)


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
    def __init__(self, runtime: LocalRuntime, *, as_user: str | None) -> None:
        self.runtime = runtime
        self.service = runtime.service
        self.principal = self._principal(as_user)

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

    def reset(self, uid: int) -> dict[str, Any]:
        return self._call(lambda: self.service.reset_export_status(self.principal, uid)).to_wire()

    def start_export(
        self,
        uid: int,
        location: ExportLocation,
        on_progress: Callable[[int], None],
        exporter: str = "rdb",
    ) -> dict[str, Any]:
        """Start and run the export here; returns the bdb when it has ended."""
        started = self._call(lambda: self.service.start_export(self.principal, uid, location))
        self.runtime.run_export(started, location, exporter, on_progress)
        return self.get_bdb(uid)

    def explain(self, uid: int, action: Action) -> dict[str, Any]:
        return self.service.evaluate(self.principal, action, uid).to_dict()

    # --- local administration ----------------------------------------------------------

    def add_bdb(self, uid: int, name: str, modules: list[str]) -> dict[str, Any]:
        try:
            bdb = Bdb(uid=uid, name=name, module_list=[ModuleRef(module_name=m) for m in modules])
        except ValidationError as error:
            raise CliError("invalid_schema", describe_validation(error)) from error
        self._call(lambda: self.runtime.bdbs.add(bdb))
        return bdb.to_wire()

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

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except DomainError as error:
            raise CliError(error.code, error.description) from error
