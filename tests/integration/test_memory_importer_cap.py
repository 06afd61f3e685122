"""The `--importer memory` importer holds a file in memory: it reads one only within
the same max-bytes cap as the real importer (issue 22, item 4), refusing a larger
file before a byte is read, in the real importer's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdbexport.adapters.memory.importer import InMemoryImporter
from bdbexport.domain import Bdb, MountPointLocation
from bdbexport.domain.export_outcome import ImportFailedError

BDB = Bdb(uid=2, name="two")
RDB = b"REDIS0010" + bytes(1000)


def _import(importer: InMemoryImporter, path: Path) -> int:
    seen: list[int] = []
    size = importer.import_rdb(
        BDB, MountPointLocation(path=str(path)), flush=True, progress=seen.append
    )
    assert seen[-1] == 100  # the commit gate, asked before the dataset is kept
    return size


def test_a_file_within_the_cap_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "small.rdb"
    path.write_bytes(RDB)
    importer = InMemoryImporter(max_bytes=len(RDB))
    assert _import(importer, path) == len(RDB)
    assert importer.datasets[2] == [RDB]


def test_a_file_over_the_cap_is_refused_and_nothing_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.rdb"
    path.write_bytes(RDB)
    importer = InMemoryImporter(max_bytes=len(RDB) - 1)
    with pytest.raises(ImportFailedError) as refused:
        _import(importer, path)
    assert refused.value.reason == "general-error"
    assert f"more than the {len(RDB) - 1} bytes an import may copy" in refused.value.detail
    assert 2 not in importer.datasets


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        InMemoryImporter(max_bytes=0)
