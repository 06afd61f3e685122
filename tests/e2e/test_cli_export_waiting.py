"""The CLI's progress says what it waits for (issue 27, 1): a local export of a Redis that
holds its snapshot back (`repl-diskless-sync-delay`) shows "waiting for Redis to start the
snapshot" beside the bar until the snapshot starts, in a real pseudo-terminal at
COLUMNS=80, and then succeeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_real_exports import SourceRedis
from tests.support.terminal import demo_store, on_terminal

pytestmark = pytest.mark.slow


def test_a_local_export_says_it_waits_for_redis(tmp_path: Path) -> None:
    folder = tmp_path
    (tmp_path / "home").mkdir()
    store = demo_store(tmp_path / "home")
    source = SourceRedis(folder / "source", sync_delay=2).start()
    try:
        source.client().set("greeting", "hello")
        source.client().config_set("requirepass", "")
        set_endpoint = on_terminal(
            "db", "set", "1", "--endpoint", f"127.0.0.1:{source.port}", store=store
        )
        assert "endpoint set" in set_endpoint
        shown = on_terminal(
            "--export-root", str(folder), "export", "start", "1", "--path", str(folder), store=store
        )
    finally:
        source.stop()
    assert "export of database 1: waiting for Redis to start the snapshot" in shown
    assert "export succeeded" in shown
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", shown)  # times to the second (issue 27, 2)
