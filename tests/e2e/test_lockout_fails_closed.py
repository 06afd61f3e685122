"""Issue 22, finding 2: password guesses are counted even while the store refuses writes.

Against a real `bdbexport serve`: a Redis store at `maxmemory 1` (every write refused
with OOM, reads go on) and a SQLite store whose write lock another process holds.
While failed sign-ins cannot be recorded, a sign-in that needs a password checked is
503 `store_unavailable` with `Retry-After` (the right password too), a credential
already proven keeps working, and once the store takes writes again the held failure
is written before any password is checked: with a lockout threshold of 1, the right
password then meets the lock it caused. On today's main the right password answered
200 during the outage and the account never locked.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

ADMIN = ("closed-admin@example.com", "closed-admin-password")
TARGET = ("closed-member@example.com", "closed-member-password")
BOOTSTRAP: dict[str, Any] = {
    "users": [
        {"email": ADMIN[0], "password": ADMIN[1], "role": "admin"},
        {"email": TARGET[0], "password": TARGET[1], "role": "db_member"},
    ],
    "modules": [],
    "bdbs": [{"uid": 1, "name": "orders"}],
}
AUTHORIZE = "/v1/users/authorize"
TIMEOUT = 20.0

HOLD_WRITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(120)
"""


def serve_args(tmp_path: Path) -> list[str]:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(BOOTSTRAP))
    # One unrecorded failure is enough to lock once it is written.
    return ["--bootstrap", str(path), "--exporter", "simulated", "--login-lockout-threshold", "1"]


def sign_in(client: httpx.Client, password: str) -> httpx.Response:
    return client.post(AUTHORIZE, json={"username": TARGET[0], "password": password})


def assert_refused_while_unrecorded(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json()["error_code"] == "store_unavailable"
    assert response.headers.get("retry-after", "").isdigit(), response.headers


def guess_during_outage(client: httpx.Client, wrong_guesses: int) -> None:
    """`wrong_guesses` wrong passwords, then the right one: all refused; the admin's
    credential, proven before the outage, keeps working."""
    for guess in range(wrong_guesses):
        assert_refused_while_unrecorded(sign_in(client, f"wrong-guess-{guess}"))
    assert_refused_while_unrecorded(sign_in(client, TARGET[1]))
    basic = client.post(AUTHORIZE, auth=(TARGET[0], TARGET[1]))
    assert_refused_while_unrecorded(basic)
    proven = client.get("/v1/bdbs/1", auth=ADMIN)
    assert proven.status_code == 200, proven.text


def assert_locked_after_recovery(client: httpx.Client, within: float = 10.0) -> None:
    """The held failure is written first: the right password meets the lock. (A
    sign-in within a second of the last refused write is refused without asking the
    store again: polled, with a generous deadline.)"""
    deadline = time.monotonic() + within
    response = sign_in(client, TARGET[1])
    while response.status_code == 503 and time.monotonic() < deadline:
        assert_refused_while_unrecorded(response)
        time.sleep(0.2)
        response = sign_in(client, TARGET[1])
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.json()["error_code"] == "account_locked", response.text


def test_a_redis_store_out_of_memory_refuses_password_checks_until_failures_are_written(
    tmp_path: Path,
) -> None:
    store = RedisServer(tmp_path / "redis").start()
    control = redis.Redis(port=store.port)
    try:
        with (
            ServerProcess(
                f"{store.url}?prefix=closed:", args=serve_args(tmp_path), workdir=tmp_path
            ).start() as server,
            httpx.Client(base_url=server.url, timeout=TIMEOUT) as client,
        ):
            warm = client.get("/v1/bdbs/1", auth=ADMIN)
            assert warm.status_code == 200, warm.text
            control.config_set("maxmemory-policy", "noeviction")
            control.config_set("maxmemory", 1)
            try:
                guess_during_outage(client, wrong_guesses=8)
            finally:
                control.config_set("maxmemory", 0)
            assert_locked_after_recovery(client)
    finally:
        control.close()
        store.stop()


@pytest.fixture
def lock_holder(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    holders: list[subprocess.Popen[str]] = []
    yield holders
    for holder in holders:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_held_sqlite_write_lock_refuses_password_checks_until_failures_are_written(
    tmp_path: Path, lock_holder: list[subprocess.Popen[str]]
) -> None:
    database = tmp_path / "closed.sqlite3"
    with (
        ServerProcess(
            f"sqlite://{database}", args=serve_args(tmp_path), workdir=tmp_path
        ).start() as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as client,
    ):
        warm = client.get("/v1/bdbs/1", auth=ADMIN)
        assert warm.status_code == 200, warm.text
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(database)],
            stdout=subprocess.PIPE,
            text=True,
        )
        lock_holder.append(holder)
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], 10.0)
        assert ready, "the lock holder did not take the lock within 10s"
        assert holder.stdout.readline().strip() == "locked"
        guess_during_outage(client, wrong_guesses=3)
        assert holder.poll() is None, "the lock ended early: nothing is proven"
        holder.kill()
        holder.wait(10)
        assert_locked_after_recovery(client)
