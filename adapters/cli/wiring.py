"""What the CLI needs from the composition root, as types it owns.

The CLI adapter never opens a store or picks an exporter itself: the entry point
hands it a `CliWiring`, whose `open_local` gives a `LocalRuntime` (the use cases over
a store, and a way to run any action in the foreground). So the adapter depends on
the domain and on these protocols only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.auth.ports import LoginAttempts, UserDirectory
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.ports import BdbRepository, ModuleRegistry
from bdbexport.domain.service import ActionService

from .settings import RemoteOptions


class LocalRuntime(Protocol):
    """The use cases over one store, in this process."""

    @property
    def service(self) -> ActionService: ...

    @property
    def bdbs(self) -> BdbRepository: ...

    @property
    def modules(self) -> ModuleRegistry: ...

    @property
    def users(self) -> UserDirectory: ...

    @property
    def login_attempts(self) -> LoginAttempts:
        """Failed sign-ins and locks, as the servers on this store count them."""

    def check_location(
        self,
        location: ExportLocation,
        *,
        kind: ActionKind,
        worker: str = "rdb",
        export_roots: Sequence[Path] = (),
        remote_options: RemoteOptions | None = None,
    ) -> None:
        """Refuse, before anything is recorded, what a server refuses at the start (a
        `DomainError`): a location type the adapter `worker` names cannot serve, a
        `mount_point` path outside the local export roots (plus `export_roots`), an FTP
        host the egress policy refuses."""

    def run_action(
        self,
        started: Bdb,
        location: ExportLocation,
        *,
        kind: ActionKind,
        flush: bool = False,
        worker: str = "rdb",
        on_progress: Callable[[int], None],
        export_roots: Sequence[Path] = (),
        remote_options: RemoteOptions | None = None,
    ) -> None:
        """Run any action its start began (export, import, backup) in the foreground, to
        its end, with `worker` as its exporter or importer; `flush` for imports."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class CliWiring:
    open_local: Callable[[str | None, bool], LocalRuntime]
    """`(store URL or None for the default, create)` -> the runtime; raises `CliError`
    when the store cannot be opened (missing file without `create`, bad URL)."""
