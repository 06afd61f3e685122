"""The edge protocol classes under a real uvicorn, both flavours (httptools, and h11
for installations without it): our JSON for parser refusals, the header limit and the
header deadline. `tests/e2e/test_hostile_clients.py` drives the served app."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from bdbexport.adapters.http.edge_protocol import edge_protocol
from tests.support.server_process import free_port
from tests.support.threaded_uvicorn import read_until_closed, uvicorn_in_thread


async def tiny_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture(params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    chosen = free_port()
    protocol = edge_protocol(request.param, header_timeout=0.5, max_header_bytes=4096)
    with uvicorn_in_thread(tiny_app, chosen, protocol):
        yield chosen


def exchange(port: int, data: bytes) -> tuple[int, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = read_until_closed(sock)
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else None


def test_a_normal_request_passes(port: int) -> None:
    assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == (200, {})


def test_headers_over_the_limit_are_431_json(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n"
    assert exchange(port, request) == (
        431,
        {
            "error_code": "request_header_too_large",
            "description": "The request line and headers exceed 4096 bytes.",
        },
    )


def test_headers_that_do_not_arrive_in_time_are_408_json(port: int) -> None:
    assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n") == (
        408,
        {
            "error_code": "request_timeout",
            "description": "The request headers did not arrive within 0.5 seconds.",
        },
    )


def test_a_malformed_request_is_400_json(port: int) -> None:
    status, body = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
    assert status == 400
    assert body["error_code"] == "invalid_request"
