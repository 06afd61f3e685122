"""Tables as a person reads them on an 80-column terminal (issue 27, 2): the real CLI in a
real pseudo-terminal on the demo store. No word, status or timestamp is split across
lines (a column that cannot fit is left out and named), and timestamps show in UTC to
the second (`-o json` keeps full precision)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support.server_process import bdbexport_command
from tests.support.terminal import demo_store, on_terminal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_store(tmp_path_factory.mktemp("tables"))


def test_db_list_splits_no_word_and_shows_seconds(store: str) -> None:
    shown = on_terminal("db", "list", store=store)
    assert all(len(line) <= 80 for line in shown.splitlines()), shown
    listed = json.loads(
        subprocess.run(
            [*bdbexport_command(), "--store", store, "db", "list", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    words = [
        str(bdb[key])
        for bdb in listed
        for key in ("name", "export_status", "export_failure_reason")
        if bdb.get(key)
    ]
    for word in words:
        assert word in shown, (word, shown)
    moments = [bdb["last_export_time"] for bdb in listed if bdb.get("last_export_time")]
    assert moments
    for moment in moments:
        assert "." in moment or moment.endswith("Z")  # full precision kept in JSON
        assert re.sub(r"\.\d+", "", moment).replace("+00:00", "Z") in shown, shown
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", shown)
    # The action uids do not fit beside the rest: the column is left out, and said so.
    assert "(ACTION: not shown at this width; -o json shows every field)" in shown


def test_action_list_keeps_uids_and_times_whole(store: str) -> None:
    shown = on_terminal("action", "list", store=store)
    assert "demo-export-4" in shown
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", shown), shown
    assert all(len(line) <= 80 for line in shown.splitlines()), shown
