"""The start-time location checks, one set for every exporter and importer.

Whatever adapter runs the action (the real exporter, the simulated one, either
importer), a start is judged the same way before anything is recorded: the location's
type must be one the chosen adapter serves (`UnsupportedLocationTypeError`), a
`mount_point` path must resolve inside an export root (`ExportPathNotAllowedError`),
and an FTP host must be one the egress policy permits (`EgressNotAllowedError`). A
server and the CLI's local mode build it the same way (`composition`), so a request
gets the same answer on both roads. No network is touched: names are resolved, and
symlinks followed again, when the action runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.errors import UnsupportedLocationTypeError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation

from .egress import EgressPolicy
from .export_roots import ExportRoots

WHAT = {
    ActionKind.EXPORT: "Exports to",
    ActionKind.IMPORT: "Imports from",
    ActionKind.BACKUP: "Backups to",
}


class LocationCheck:
    """`check(location, kind)`: the refusals due before `kind` starts at `location`.

    `types` maps each member of the family to the location types its adapter serves
    (an exporter's for exports and backups, an importer's for imports); a member
    missing from it serves every type the API defines."""

    def __init__(
        self,
        *,
        roots: ExportRoots,
        egress: EgressPolicy,
        types: Mapping[ActionKind, frozenset[str]],
        remote: Callable[[ExportLocation], None] | None = None,
    ) -> None:
        """`remote` judges the other location types (s3, abs, sftp) the same way, with
        no network: a host that is an address literal the policy refuses."""
        self.roots = roots
        self.egress = egress
        self.types = dict(types)
        self.remote = remote

    def __call__(self, location: ExportLocation, kind: ActionKind = ActionKind.EXPORT) -> None:
        served = self.types.get(kind)
        if served is not None and location.type not in served:
            raise UnsupportedLocationTypeError(WHAT[kind], location.type, served)
        if isinstance(location, MountPointLocation):
            self.roots.resolve(location.path)
        elif isinstance(location, UrlLocation):
            self.egress.check_host(urlsplit(location.url.get_secret_value()).hostname or "")
        elif self.remote is not None:
            self.remote(location)
