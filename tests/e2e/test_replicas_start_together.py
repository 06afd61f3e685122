"""Replicas started at the same moment on one empty Redis all come up: seeding is
idempotent under concurrency (an entry another replica created first is kept)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import ADMIN, BOOTSTRAP
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
REPLICAS = 4
ROUNDS = 10
READY_WITHIN = 180.0
"""A generous deadline, not a figure: four interpreters starting at once on a loaded
two-core machine (load above 10) took over 30 s; what is tested is that all come up."""


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def test_four_replicas_started_at_once_on_an_empty_redis_all_come_up(
    tmp_path: Path, redis: RedisServer
) -> None:
    document = tmp_path / "bootstrap.json"
    document.write_text(json.dumps(with_cheap_hashes(BOOTSTRAP)))
    for round_ in range(ROUNDS):
        store = f"{redis.url}?prefix=round{round_}:"
        replicas = [
            ServerProcess(store, args=["--bootstrap", str(document)], workdir=tmp_path)
            for _ in range(REPLICAS)
        ]
        try:
            with ThreadPoolExecutor(REPLICAS) as starting:
                list(starting.map(lambda replica: replica.start(timeout=READY_WITHIN), replicas))
            for replica in replicas:
                response = httpx.get(f"{replica.url}/v1/bdbs/1", auth=ADMIN, timeout=10)
                assert response.status_code == 200, (round_, replica.stderr())
                assert "Traceback" not in replica.stderr()
        finally:
            for replica in replicas:
                replica.stop()


def test_replicas_seeding_the_demo_together_show_only_passwords_that_work(
    tmp_path: Path, redis: RedisServer
) -> None:
    """Without a bootstrap file every replica sees an empty store and seeds the demo; the
    ones that lose the race must not print passwords that were never stored."""
    for round_ in range(3):
        store = f"{redis.url}?prefix=demo{round_}:"
        # A Redis store has no file to sit beside: the passwords file goes to the data
        # directory, $BDBEXPORT_HOME (the replicas share it here, as they share the store).
        home = tmp_path / f"home{round_}"
        home.mkdir()
        env = {"BDBEXPORT_ADMIN_PASSWORD": "demo-pw", "BDBEXPORT_HOME": str(home)}
        replicas = [ServerProcess(store, env=env, workdir=tmp_path) for _ in range(3)]
        try:
            with ThreadPoolExecutor(3) as starting:
                list(starting.map(lambda replica: replica.start(timeout=READY_WITHIN), replicas))
            named = [r for r in replicas if "demo-passwords.txt" in r.stdout()]
            assert named, "the replicas whose users were stored name the file"
            shown = [
                line.split()
                for line in (home / "demo-passwords.txt").read_text().splitlines()
                if "db-viewer@example.com" in line
            ]
            assert shown, "no replica showed the first start's passwords"
            for words in shown:
                for replica in replicas:
                    response = httpx.get(
                        f"{replica.url}/v1/bdbs", auth=(words[1], words[2]), timeout=10
                    )
                    assert response.status_code == 200, (round_, words)
        finally:
            for replica in replicas:
                replica.stop()
