"""The exporter never opens an existing non-regular file: the directory is opened with
`O_DIRECTORY` (a FIFO in its place is `ENOTDIR` at once, never a blocked open) and the
file is created with `O_EXCL`, so a FIFO named like the temporary file is refused too.
The import side's FIFO case is in tests/integration/importing/test_hostile_sources.py."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.sinks import DirectorySink, partial_name
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import MountPointLocation
from bdbexport.domain.statuses import ExportFailureReason


def attempt(path: str, roots: ExportRoots) -> BaseException | None:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            DirectorySink(MountPointLocation(path=path), "db.rdb", roots).abort()
        except BaseException as error:  # handed to the test
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the export blocked on a FIFO"
    return raised[0] if raised else None


def test_a_fifo_where_the_directory_should_be_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    raised = attempt("fifo", ExportRoots([tmp_path]))
    assert isinstance(raised, ExportFailedError), repr(raised)
    assert raised.reason is ExportFailureReason.WRONG_FILE_PATH
    assert raised.detail == "fifo is not a directory"


def test_a_fifo_named_like_the_temporary_file_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / partial_name("db.rdb"))
    raised = attempt(str(tmp_path), ExportRoots([tmp_path]))
    assert isinstance(raised, ExportFailedError), repr(raised)
    assert raised.reason is ExportFailureReason.GENERAL_ERROR
