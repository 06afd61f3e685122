"""A real server on a real redis-server that is paused (SIGSTOP) or killed while the
server streams `GET /v1/bdbs`.

Before, the client got `200` and a body of `[` it could take for an empty list, and
the log got a dozen identical tracebacks. Now the first page is read before the status
line (a store already down is a plain 503), and a failure after the first bytes ends
the response without its final chunk: the client's HTTP library reports an incomplete
body, and the log has one line.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.faults.conftest import (
    ADMIN,
    BOOTSTRAP,
    RESET,
    assert_unavailable,
    bootstrap_file,
    lines_with,
    request,
    server_on,
)
from tests.support.redis_server import RedisServer
from tests.support.server_process import free_port

pytestmark = pytest.mark.slow
MANY = 30_000
"""More bdbs than the kernel's socket buffers hold as JSON: the server cannot have
read the whole list from Redis before the client has read its first bytes."""


@pytest.fixture
def redis_store(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def many_bdbs(directory: Path) -> Path:
    bdbs = [{"uid": uid, "name": f"db-{uid}"} for uid in range(1, MANY + 1)]
    return bootstrap_file(directory, {**BOOTSTRAP, "bdbs": bdbs})


@pytest.mark.parametrize("fault", ["paused", "killed"])
def test_a_list_that_fails_mid_stream_ends_in_an_error_and_one_log_line(
    tmp_path: Path, redis_store: RedisServer, fault: str
) -> None:
    assert redis_store.process is not None
    pid = redis_store.process.pid
    args = ("--bootstrap", str(many_bdbs(tmp_path)))
    with server_on(redis_store.url, tmp_path, *args).start(timeout=120) as server:
        received = b""
        began = time.monotonic()
        with (
            httpx.Client(timeout=15) as client,
            client.stream("GET", f"{server.url}/v1/bdbs", auth=ADMIN) as response,
        ):
            assert response.status_code == 200
            chunks = response.iter_raw()
            received += next(chunks)
            if fault == "paused":
                os.kill(pid, signal.SIGSTOP)
            else:
                redis_store.kill()
            rest: list[bytes] = []
            with pytest.raises(httpx.RemoteProtocolError):
                rest.extend(chunks)  # extend keeps what arrived before the error
            received += b"".join(rest)
        assert time.monotonic() - began < 15
        assert received.startswith(b"[")
        assert not received.endswith(b"]")  # never a well-formed, truncated list
        if fault == "paused":
            assert_unavailable(request(server, "GET", "/v1/bdbs"))  # before any byte: 503
            os.kill(pid, signal.SIGCONT)
    aborted = lines_with(server, "aborted mid-stream")
    assert len(aborted) == 1, server.stderr()
    assert "store is unavailable" in aborted[0]
    assert "Traceback" not in server.stderr()
    assert "without completing response" not in server.stderr()


@pytest.mark.parametrize("fault", ["read-only replica", "out of memory"])
def test_a_redis_that_refuses_writes_answers_503_and_reads_go_on(
    tmp_path: Path, redis_store: RedisServer, fault: str
) -> None:
    """A failover that leaves the servers on a read-only replica, or a full `maxmemory`:
    the store's state, not the request's fault, so 503 and never 500."""
    args = ("--bootstrap", str(bootstrap_file(tmp_path)))
    with server_on(redis_store.url, tmp_path, *args).start() as server:
        control = redis.Redis(port=redis_store.port)
        try:
            if fault == "read-only replica":
                control.replicaof("127.0.0.1", str(free_port()))  # a master that is gone
            else:
                control.config_set("maxmemory-policy", "noeviction")
                control.config_set("maxmemory", 1)
            reset = request(server, "PUT", RESET)
            assert_unavailable(reset, names=(str(redis_store.port),))
            assert "refuses writes" in reset.json()["description"]
            read = request(server, "GET", "/v1/bdbs/2")
            assert read.status_code == 200
            assert read.json()["export_status"] == "failed"
        finally:
            control.replicaof("NO", "ONE")
            control.config_set("maxmemory", 0)
            control.close()
        assert request(server, "PUT", RESET).status_code == 200  # back to normal
    assert "Traceback" not in server.stderr()
