"""An in-process HTTP world: the app `serve` builds (composition/http_app.py), over the
memory store, with known credentials; started actions are recorded instead of run."""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

from bdbexport.adapters.exporting.location_check import WHAT
from bdbexport.adapters.http import Authenticator
from bdbexport.adapters.memory import InMemoryEventLog, ManualClock, SequentialIds
from bdbexport.adapters.memory.login_attempts import AsyncInMemoryLoginAttempts
from bdbexport.composition import Application, bootstrap
from bdbexport.composition.bootstrap_file import BootstrapDocument, BootstrapUser, apply_bootstrap
from bdbexport.composition.demo_data import demo_document
from bdbexport.composition.http_app import DEFAULT_EDGE, EdgeSettings, build_http_app
from bdbexport.composition.stores import Store, open_store
from bdbexport.domain import AsyncActionService, Bdb, ExportLocation, Role
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.auth.passwords import hash_password
from bdbexport.domain.errors import UnsupportedLocationTypeError
from bdbexport.domain.work_queue import WorkQueue

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
    service: AsyncActionService
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


def served_types_only(
    types: frozenset[str] | None, location: ExportLocation, kind: ActionKind
) -> None:
    """The start-time check of a server whose adapters serve `types` (None: every type),
    with no roots and no egress policy: the in-process world judges types only."""
    if types is not None and location.type not in types:
        raise UnsupportedLocationTypeError(WHAT[kind], location.type, types)


def make_http_world(
    *,
    bdbs: tuple[Bdb, ...] | None = None,
    location_types: frozenset[str] | None = None,
    store_url: str = "memory://",
    work_queue: WorkQueue | None = None,
    edge: EdgeSettings | None = DEFAULT_EDGE,
) -> HttpWorld:
    """The app `build_http_app` builds over `bootstrap`'s wiring (as `serve` does), on
    the store `store_url` names (in memory by default), seeded with the demo bdbs and one
    user per role; started actions are recorded in `launched` instead of run, and the
    simulated exporter's checks apply (none), unless `location_types` narrows them.
    `edge`: the edge rules the app applies (`serve`'s by default)."""
    store = open_store(store_url)
    demo, _ = demo_document()
    apply_bootstrap(
        BootstrapDocument(
            users=known_users(), modules=demo.modules, bdbs=demo.bdbs if bdbs is None else bdbs
        ),
        store,
    )
    events = InMemoryEventLog()
    application: Application = bootstrap(
        store,
        clock=ManualClock(),
        ids=SequentialIds("export"),
        subscribers=[events],
        with_async=True,
        exporter="simulated",
        importer=None,  # every source type accepted: launches are only recorded
    )
    assert application.async_service is not None
    launched: list[tuple[Bdb, ExportLocation]] = []
    lines: list[str] = []
    built = build_http_app(
        application,
        attempts=AsyncInMemoryLoginAttempts(),
        access_log=ListSink(lines),
        version="test",
        launch=lambda bdb, location, notify=False, **how: launched.append((bdb, location)),
        check_location=functools.partial(served_types_only, location_types),
        work_queue=work_queue,
        edge=edge,
    )
    return HttpWorld(
        built.app,
        store,
        application.async_service,
        built.authenticator,
        events,
        launched,
        lines,
    )
