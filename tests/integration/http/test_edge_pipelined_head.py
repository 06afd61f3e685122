"""A pipelined request's head, arriving while the request before it is still in flight,
is held to the same size limit: reading stops once it is over the limit, and after the
first answer comes the 431 (issue: without this, the server buffered any amount of one
header value for as long as the first request took). The httptools flavour, under a
real uvicorn; the first request is held open by the test, not by a timer. (h11 parses
a pipelined request only after the previous response and stops reading meanwhile.)"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from bdbexport.adapters.http.edge_protocol import edge_protocol
from tests.support.server_process import free_port
from tests.support.threaded_uvicorn import read_until_closed, uvicorn_in_thread

CHUNK = b"a" * 65536
MAX_SENT = 32 * 1024 * 1024


@dataclass
class Held:
    port: int
    release: threading.Event = field(default_factory=threading.Event)


def held_app(release: threading.Event) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/held":
            for _ in range(200):  # until the test releases it, at most 10 s
                if release.is_set():
                    break
                await asyncio.sleep(0.05)
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


@pytest.fixture
def held() -> Iterator[Held]:
    result = Held(free_port())
    protocol = edge_protocol("httptools", max_header_bytes=16384)
    with uvicorn_in_thread(held_app(result.release), result.port, protocol):
        yield result
        result.release.set()


def test_a_pipelined_head_over_the_limit_stops_reading_and_gets_431_after_the_first_answer(
    held: Held,
) -> None:
    sent = 0
    with socket.create_connection(("127.0.0.1", held.port), timeout=10) as sock:
        sock.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sock.setblocking(False)
        for _ in range(MAX_SENT // len(CHUNK)):  # until the server stops reading
            _, writable, _ = select.select([], [sock], [], 1.0)
            if not writable:
                break
            try:
                sent += sock.send(CHUNK)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        held.release.set()
        raw = read_until_closed(sock)
    # What the kernel's socket buffers hold, not what the server read: far below the cap.
    assert sent < MAX_SENT // 2
    statuses = [line.split()[1] for line in raw.split(b"\r\n") if b"HTTP/1.1 " in line]
    assert statuses == [b"200", b"431"], raw
    assert b'"error_code": "request_header_too_large"' in raw
