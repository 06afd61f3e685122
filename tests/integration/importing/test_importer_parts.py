"""The importer's small parts on their own: which RDB versions a Redis release reads,
progress that never goes back, the undo journal's file format."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdbexport.adapters.importing.progress import ProgressReporter
from bdbexport.adapters.importing.rdb_version import readable_rdb_version
from bdbexport.adapters.importing.undo_journal import Entry, UndoJournal


@pytest.mark.parametrize(
    ("release", "newest"),
    [
        ("8.0.1", 12),
        ("7.4.0", 12),
        ("7.2.4", 11),
        ("7.0.15", 10),
        ("6.2.14", 9),
        ("5.0.0", 9),
        ("4.0.14", 8),
        ("3.2.12", 7),
        ("2.8.24", 6),
        ("2.4.0", None),
        ("unknown", None),
    ],
)
def test_the_newest_rdb_version_a_release_reads(release: str, newest: int | None) -> None:
    assert readable_rdb_version(release) == newest


@given(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99), st.floats(-1, 2))))
def test_progress_never_goes_back_and_stays_below_100(
    phases: list[tuple[int, int, float]],
) -> None:
    reported: list[int] = []
    reporter = ProgressReporter(reported.append, interval=0, keepalive=0)
    for start, width, fraction in phases:
        reporter.phase(start, start + width, fraction)
    assert reported == sorted(reported)
    assert all(0 <= percent <= 99 for percent in reported)


entries = st.builds(
    Entry,
    db=st.integers(0, 15),
    key=st.binary(max_size=64),
    dump=st.none() | st.binary(max_size=256),
    pttl=st.integers(0, 2**40),
)


@given(st.lists(entries, max_size=50))
def test_the_journal_gives_back_what_was_recorded(recorded: list[Entry]) -> None:
    with tempfile.TemporaryDirectory() as work, UndoJournal(Path(work) / "j") as journal:
        for entry in recorded:
            journal.record(entry)
        assert list(journal.replay()) == recorded
        assert journal.entries == len(recorded)
