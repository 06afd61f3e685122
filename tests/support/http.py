"""An in-process HTTP world: the real app over the memory store, known credentials."""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

from bdbexport.adapters.bootstrap_file import BootstrapDocument, BootstrapUser, apply_bootstrap
from bdbexport.adapters.demo_data import demo_document
from bdbexport.adapters.http import Authenticator, HttpContext, create_app
from bdbexport.adapters.memory import InMemoryEventLog, ManualClock, SequentialIds
from bdbexport.adapters.stores import Store, open_store
from bdbexport.domain import Bdb, ExportLocation, ExportService, Role, RoleTablePolicy
from bdbexport.domain.passwords import hash_password

PASSWORDS: Mapping[Role, str] = {role: f"{role.value}-password" for role in Role}


def email(role: Role) -> str:
    return f"{role.value}@example.com"


@functools.cache
def known_users() -> tuple[BootstrapUser, ...]:
    """One user per role, hashed once per test session (scrypt is slow on purpose)."""
    return tuple(
        BootstrapUser(email=email(role), role=role, password_hash=hash_password(PASSWORDS[role]))
        for role in Role
    )


def basic(role: Role, password: str | None = None) -> dict[str, str]:
    secret = PASSWORDS[role] if password is None else password
    token = base64.b64encode(f"{email(role)}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic(Role.ADMIN)
MEMBER = basic(Role.DB_MEMBER)
VIEWER = basic(Role.DB_VIEWER)
NOBODY = basic(Role.NONE)


@dataclass
class HttpWorld:
    app: Starlette
    store: Store
    service: ExportService
    authenticator: Authenticator
    events: InMemoryEventLog
    launched: list[tuple[Bdb, ExportLocation]] = field(default_factory=list)
    access_log: list[str] = field(default_factory=list)

    def client(self, base_url: str = "http://bdbexport.test") -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)


class ListSink:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        return None


def make_http_world(
    *,
    bdbs: tuple[Bdb, ...] | None = None,
    location_types: frozenset[str] | None = None,
    offload: bool = False,
) -> HttpWorld:
    store = open_store("memory://")
    demo, _ = demo_document()
    apply_bootstrap(
        BootstrapDocument(
            users=known_users(), modules=demo.modules, bdbs=demo.bdbs if bdbs is None else bdbs
        ),
        store,
    )
    events = InMemoryEventLog()
    service = ExportService(
        bdbs=store.bdbs,
        modules=store.modules,
        policy=RoleTablePolicy(),
        clock=ManualClock(),
        ids=SequentialIds("export"),
        events=events,
    )
    authenticator = Authenticator(store.users, token_key=store.secret("jwt"))
    launched: list[tuple[Bdb, ExportLocation]] = []
    lines: list[str] = []
    context = HttpContext(
        service=service,
        authenticator=authenticator,
        launch_export=lambda bdb, location, notify: launched.append((bdb, location)),
        location_types=location_types,
        offload=offload,
    )
    app = create_app(context, access_log=ListSink(lines), version="test")
    return HttpWorld(app, store, service, authenticator, events, launched, lines)
