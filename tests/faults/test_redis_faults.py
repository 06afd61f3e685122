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

from tests.faults.conftest import (
    ADMIN,
    BOOTSTRAP,
    assert_unavailable,
    bootstrap_file,
    lines_with,
    request,
    server_on,
)
from tests.support.redis_server import RedisServer

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
