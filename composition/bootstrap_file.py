"""The bootstrap document: users, modules and bdbs to create in a store.

Its shape is public (docs/http-api.md): `{"users": [...], "modules": [...], "bdbs": [...]}`.
Loading is all-or-nothing and never destructive: the whole document is validated before
anything is written, entries that already exist are left exactly as the store holds
them (a restart with the same file must not undo live changes), and the rest is written
in one transaction where the store has one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from bdbexport.domain.auth.passwords import hash_password, is_password_hash
from bdbexport.domain.auth.users import User
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BdbAlreadyExistsError, UserAlreadyExistsError
from bdbexport.domain.family import running_lifecycle
from bdbexport.domain.modules import CatalogModule
from bdbexport.domain.permissions import Role

from .stores import Store


class BootstrapError(ValueError):
    """The document cannot be loaded; the message names the bad entry."""


class BootstrapUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str
    role: Role
    password: SecretStr | None = Field(default=None, min_length=1)
    password_hash: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.password is None) == (self.password_hash is None):
            raise ValueError("give exactly one of password and password_hash")
        if self.password_hash is not None and not is_password_hash(self.password_hash):
            raise ValueError("password_hash is not a bdbexport scrypt hash")
        return self

    def to_user(self) -> User:
        encoded = self.password_hash or hash_password(
            self.password.get_secret_value()  # type: ignore[union-attr]
        )
        return User(email=self.email, role=self.role.value, password_hash=encoded)


class BootstrapDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[BootstrapUser, ...] = ()
    modules: tuple[CatalogModule, ...] = ()
    bdbs: tuple[Bdb, ...] = ()

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        for kind, keys in (
            ("users", [user.email for user in self.users]),
            ("modules", [module.module_name for module in self.modules]),
            ("bdbs", [bdb.uid for bdb in self.bdbs]),
        ):
            seen: set[object] = set()
            for index, key in enumerate(keys):
                if key in seen:
                    raise ValueError(f"{kind}[{index}] repeats {key!r}")
                seen.add(key)
        return self


@dataclass
class BootstrapReport:
    created: dict[str, list[str]] = field(
        default_factory=lambda: {"users": [], "modules": [], "bdbs": []}
    )
    kept: dict[str, list[str]] = field(
        default_factory=lambda: {"users": [], "modules": [], "bdbs": []}
    )


def parse_bootstrap(text: str, source: str = "bootstrap document") -> BootstrapDocument:
    """Validate a whole document; `BootstrapError` names every bad entry."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise BootstrapError(f"{source} is not valid JSON: {error}") from error
    try:
        return BootstrapDocument.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_describe(problem, raw) for problem in error.errors())
        raise BootstrapError(f"{source} is invalid: {problems}") from error


def read_bootstrap_file(path: str | Path) -> BootstrapDocument:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise BootstrapError(f"cannot read bootstrap file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise BootstrapError(f"bootstrap file {path} is not UTF-8 text") from error
    return parse_bootstrap(text, source=f"bootstrap file {path}")


def apply_bootstrap(
    document: BootstrapDocument, store: Store, *, lease_until: datetime | None = None
) -> BootstrapReport:
    """Create what the store lacks; keep what it has. One transaction where possible.

    Idempotent under concurrency: replicas started at once on one empty store all apply
    the same document, and an entry another one created first (between our look and our
    add) is reported as kept, not as an error.

    A bdb seeded as `exporting` has no worker behind it: given `lease_until`, its lease
    ends then, and it fails like any abandoned export instead of blocking resets forever.
    """
    report = BootstrapReport()
    new_users = [u for u in document.users if store.users.get(u.email) is None]
    # Hash before the transaction: scrypt is slow and must not hold the write lock.
    prepared = [user.to_user() for user in new_users]
    with _transaction(store):
        for user in prepared:
            try:
                store.users.add(user)
            except UserAlreadyExistsError:
                report.kept["users"].append(user.email)  # another replica was first
                continue
            report.created["users"].append(user.email)
        for module in document.modules:
            if store.modules.get(module.module_name) is None:
                store.modules.add(module)
                report.created["modules"].append(module.module_name)
            else:
                report.kept["modules"].append(module.module_name)
        for bdb in document.bdbs:
            if store.bdbs.get(bdb.uid) is not None:
                report.kept["bdbs"].append(str(bdb.uid))
                continue
            try:
                store.bdbs.add(_with_lease(bdb, lease_until))
            except BdbAlreadyExistsError:
                report.kept["bdbs"].append(str(bdb.uid))  # another replica was first
                continue
            report.created["bdbs"].append(str(bdb.uid))
    report.kept["users"] += [u.email for u in document.users if u not in new_users]
    return report


def _with_lease(bdb: Bdb, lease_until: datetime | None) -> Bdb:
    if lease_until is None or running_lifecycle(bdb) is None:
        return bdb
    if bdb.action_lease_expires is not None:
        return bdb
    return bdb.model_copy(update={"action_lease_expires": lease_until})


@contextlib.contextmanager
def _transaction(store: Store) -> Iterator[None]:
    if store.transaction is None:
        yield
        return
    with store.transaction():
        yield


def _describe(problem: Any, raw: object) -> str:
    location = problem.get("loc", ())
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    key = _entry_key(raw, location)
    where = f"{path} ({key})" if key else path or "document"
    return f"{where}: {problem.get('msg', 'invalid')}"


def _entry_key(raw: object, location: tuple[Any, ...]) -> str | None:
    if len(location) < 2 or not isinstance(raw, dict) or not isinstance(location[1], int):
        return None
    entries = raw.get(location[0])
    if not isinstance(entries, list) or location[1] >= len(entries):
        return None
    entry = entries[location[1]]
    if not isinstance(entry, dict):
        return None
    for name in ("email", "module_name", "uid", "name"):
        if name in entry:
            return f"{name} {entry[name]!r}"
    return None
