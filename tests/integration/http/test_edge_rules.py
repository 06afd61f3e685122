"""The edge's application rules (`EdgeRules`): the write deadline on granian, as `serve`
runs it, and the body deadline and the per-address cap on the ASGI interface itself.

The hostile-client suites (tests/e2e) run the same rules inside `bdbexport serve`.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import Message, Receive, Scope, Send

from bdbexport.adapters.http.edge_rules import BodyTimeoutError, EdgeRules
from bdbexport.adapters.http.forwarded import TrustedForwardedFor
from tests.support.edge_server import WRITE_TIMEOUT
from tests.support.server_process import free_port

ROOT = Path(__file__).parents[3]


@pytest.fixture
def edge_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, marker = free_port(), tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.edge_server", str(port), str(marker)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        for _ in range(200):  # the worker starts right after the socket listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, marker
    finally:
        process.terminate()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def test_a_client_that_does_not_read_is_dropped_after_the_write_deadline(
    edge_server: tuple[int, Path],
) -> None:
    port, marker = edge_server
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(300):  # the response is abandoned: waited for, generously
            if marker.exists():
                break
            time.sleep(0.1)
        assert marker.read_text() == "abandoned"
        # What was in flight can still be read; then the connection ends (EOF or reset),
        # long before the endless body would have.
        sock.settimeout(10)
        received = 0
        for _ in range(100_000):
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += len(chunk)
        assert received < 256 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=10) as again:
        again.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert again.recv(64).startswith(b"HTTP/1.1 200 ")
    assert WRITE_TIMEOUT < 30


def scope(client: str = "10.0.0.1") -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [],
        "client": (client, 1234),
    }


def test_a_body_that_stops_arriving_raises_the_408_error_and_closes() -> None:
    sent: list[Message] = []
    codes: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await receive()
            await receive()
        except BodyTimeoutError as error:
            codes.append(error.code)
            await send({"type": "http.response.start", "status": 408, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        if not sent and not hasattr(receive, "first"):
            receive.first = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"{", "more_body": True}
        await asyncio.sleep(60)
        raise AssertionError("the deadline did not end the wait")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(EdgeRules(app, body_timeout=0.2)(scope(), receive, send))
    assert codes == ["request_timeout"]
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]


def test_the_cap_counts_requests_in_flight_per_address_and_releases_them() -> None:
    async def scenario() -> list[int]:
        release = asyncio.Event()
        statuses: list[int] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        rules = EdgeRules(app, max_requests_per_address=2)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def call(client: str) -> None:
            async def send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await rules(scope(client), receive, send)

        held = [asyncio.create_task(call("10.0.0.1")) for _ in range(2)]
        await asyncio.sleep(0)
        await call("10.0.0.1")  # a third from the same address: refused at once
        other = asyncio.create_task(call("10.0.0.2"))  # another address: admitted
        release.set()
        await asyncio.gather(*held, other)
        await call("10.0.0.1")  # released: admitted again
        return statuses

    assert asyncio.run(scenario()) == [429, 200, 200, 200, 200]


@pytest.mark.parametrize(
    ("peer", "forwarded", "seen"),
    [
        ("127.0.0.1", b"203.0.113.9", "203.0.113.9"),  # the trusted proxy's word
        ("127.0.0.1", b"10.9.9.9, 203.0.113.9", "203.0.113.9"),  # the one it appended
        ("198.51.100.7", b"203.0.113.9", "198.51.100.7"),  # anyone else: ignored
        ("127.0.0.1", b"", "127.0.0.1"),
    ],
)
def test_x_forwarded_for_is_read_from_trusted_proxies_only(
    peer: str, forwarded: bytes, seen: str
) -> None:
    clients: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        clients.append(scope["client"][0])

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    request = {**scope(peer), "headers": [(b"x-forwarded-for", forwarded)]}
    middleware = TrustedForwardedFor(app, trusted=frozenset({"127.0.0.1"}))
    asyncio.run(middleware(request, receive, send))
    assert clients == [seen]


def test_the_deadline_sweep_runs_only_while_requests_are_in_flight() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.05)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    async def scenario() -> tuple[bool, bool]:
        rules = EdgeRules(app, body_timeout=0.1, write_timeout=0.1)
        request = asyncio.create_task(rules(scope(), receive, send))
        await asyncio.sleep(0)
        during = rules._sweeping is not None
        await request
        await asyncio.sleep(rules.interval * 3)
        return during, rules._sweeping is None

    assert asyncio.run(scenario()) == (True, True)
