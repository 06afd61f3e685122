"""Choosing the importer: part of the composition root.

`rdb` loads RDB files into the bdb's live Redis (`adapters/importing`); `memory` loads
them into an in-memory dataset (`adapters/memory/importer.py`: tests, demos, servers
with no Redis to load into). An importer the installation lacks is an error naming it.
"""

from __future__ import annotations

from functools import partial

from bdbexport.adapters.exporting.egress import OPEN, EgressPolicy, addresses_of
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.ftp_connection import open_ftp
from bdbexport.adapters.importing.limits import ImportLimits
from bdbexport.adapters.importing.sources import RemoteSource
from bdbexport.adapters.memory.importer import InMemoryImporter
from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.ports import Importer

IMPORTERS = ("rdb", "memory")


def choose_importer(
    name: str,
    *,
    memory_duration: float = 0.0,
    roots: ExportRoots | None = None,
    egress: EgressPolicy | None = None,
    timeout: float = 30.0,
    limits: ImportLimits | None = None,
    remote: RemoteSource | None = None,
) -> Importer:
    """The importer `name` stands for (one of `IMPORTERS`). The real one reads
    `mount_point` files only inside `roots` and FTP only from hosts `egress` permits
    (the export rules: a server never reads just any file it can, docs/imports.md),
    with `timeout` (the server's `--export-timeout`) bounding each network step as for
    exports, and `limits` what one import may take from the machine (docs/security.md).
    Choosing it also ends what imports of dead servers left behind (loaders, work
    directories): `RdbImporter.reap_leftovers`."""
    if name == "rdb":
        from bdbexport.adapters.importing import RdbImporter

        importer = RdbImporter(
            resolve_path=None if roots is None else roots.resolve,
            check_host=None if egress is None else partial(_check_source_host, egress),
            open_ftp=partial(open_ftp, egress=OPEN if egress is None else egress),
            timeout=timeout,
            limits=limits,
            remote=remote,
        )
        importer.reap_leftovers()
        return importer
    if name == "memory":
        resolve = None if roots is None else roots.resolve
        return InMemoryImporter(duration=memory_duration, resolve_path=resolve)
    raise ValueError(f"Unknown importer {name!r}; choose one of: {', '.join(IMPORTERS)}.")


def _check_source_host(egress: EgressPolicy, host: str) -> None:
    """Every address `host` resolves to must be permitted (the FTP client connects to
    whichever comes first); a name that does not resolve fails later, at connect."""
    addresses = addresses_of(host)
    if any(not egress.permits(host, address) for address in addresses):
        raise EgressNotAllowedError()


def location_types(adapter: object) -> frozenset[str] | None:
    """The location types an exporter writes to or an importer reads from (None: it
    does not say, so every type the API defines)."""
    types = getattr(adapter, "location_types", None)
    return frozenset(types) if types is not None else None
