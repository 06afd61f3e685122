"""Concurrency, measured: thousands of random calls from 8 threads and from 4 processes
on the same few bdbs of one SQLite file and of one Redis server, then proven from the
records that no update was lost and every refusal was legitimate at its moment."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bdbexport.composition.stores import Store, open_store
from bdbexport.domain import Bdb
from tests.support.hammer import UIDS, hammer
from tests.support.reconcile import reconcile

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


def store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite://{tmp_path / 'hammer.sqlite3'}"
    url: str = request.getfixturevalue("redis_url")
    return url


def seeded(url: str) -> Store:
    store = open_store(url)
    for uid in UIDS:
        store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
    return store


def final_state(store: Store) -> dict[int, Bdb]:
    return {uid: bdb for uid in UIDS if (bdb := store.bdbs.get(uid)) is not None}


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_eight_threads_lose_no_update(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = seeded(store_url(kind, request, tmp_path))
    results: list[list[dict[str, Any]]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = hammer(store, seed=index, operations=300)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [record for batch in results for record in batch]
    counts = reconcile(records, final_state(store))
    store.close()
    assert counts["calls"] == 2400
    assert counts["changes"] > 300
    assert counts["refusals"] > 100


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_processes_lose_no_update(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = store_url(kind, request, tmp_path)
    seeded(url).close()
    outputs = [tmp_path / f"records-{i}.jsonl" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.hammer", url, str(100 + i), "500", str(out)],
            cwd=ROOT,
        )
        for i, out in enumerate(outputs)
    ]
    assert [process.wait(timeout=300) for process in processes] == [0, 0, 0, 0]
    records = [json.loads(line) for out in outputs for line in out.read_text().splitlines() if line]
    store = open_store(url)
    counts = reconcile(records, final_state(store))
    store.close()
    assert counts["calls"] == 2000
    assert counts["changes"] > 200
