"""Choosing the importer: part of the composition root.

`rdb` loads RDB files into the bdb's live Redis (`adapters/importing`); `memory` loads
them into an in-memory dataset (`adapters/memory/importer.py`: tests, demos, servers
with no Redis to load into). An importer the installation lacks is an error naming it.
"""

from __future__ import annotations

from bdbexport.adapters.memory.importer import InMemoryImporter
from bdbexport.domain.ports import Importer

IMPORTERS = ("rdb", "memory")


def choose_importer(name: str, *, memory_duration: float = 0.0) -> Importer:
    """The importer `name` stands for (one of `IMPORTERS`)."""
    if name == "rdb":
        from bdbexport.adapters.importing import RdbImporter

        return RdbImporter()
    if name == "memory":
        return InMemoryImporter(duration=memory_duration)
    raise ValueError(f"Unknown importer {name!r}; choose one of: {', '.join(IMPORTERS)}.")


def import_location_types(importer: Importer) -> frozenset[str] | None:
    """The source types `importer` reads (None: it does not say, so every type)."""
    types = getattr(importer, "location_types", None)
    return frozenset(types) if types is not None else None
