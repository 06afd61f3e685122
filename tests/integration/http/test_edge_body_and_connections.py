"""The edge's body deadline, per-address connection cap, pipelining before a parser
refusal and what each refusal tells, for both protocol flavours (httptools, and h11
for installations without it), under a real uvicorn with an app that reads bodies.
`tests/e2e/test_edge_deadlines_and_refusals.py` drives the served app."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from bdbexport.adapters.http.edge_protocol import EdgeObservers, edge_protocol
from tests.support.server_process import free_port
from tests.support.threaded_uvicorn import read_until_closed, uvicorn_in_thread

CAP = 2


async def reading_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then answers 200 with its length."""
    if scope["type"] != "http":
        return
    size = 0
    for _ in range(100_000):
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = json.dumps({"size": size}).encode()
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Served:
    port: int
    flavour: str
    lines: list[str] = field(default_factory=list)
    counted: list[int] = field(default_factory=list)


@pytest.fixture(params=["httptools", "h11"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    result = Served(free_port(), request.param)
    observers = EdgeObservers(
        access_log=_ListSink(result.lines), count_refusal=result.counted.append
    )
    protocol = edge_protocol(
        request.param,
        header_timeout=5,
        body_timeout=0.5,
        max_connections_per_address=CAP,
        observers=observers,
    )
    with uvicorn_in_thread(reading_app, result.port, protocol):
        yield result


class _ListSink:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, line: str, /) -> None:
        self.lines.append(line)


def receive_all(sock: socket.socket) -> bytes:
    return read_until_closed(sock)


def statuses(raw: bytes) -> list[tuple[int, Any]]:
    found = []
    for _ in range(10):
        if not raw:
            break
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        found.append((int(head.split()[1]), json.loads(rest[:length])))
        raw = rest[length:]
    return found


def test_a_body_that_stops_arriving_is_408_json_and_told(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        answers = statuses(receive_all(sock))
    assert answers == [
        (
            408,
            {
                "error_code": "request_timeout",
                "description": "The request body did not arrive within 0.5 seconds.",
            },
        )
    ]
    assert served.counted == [408]
    assert len(served.lines) == 1
    assert json.loads(served.lines[0])["status"] == 408


def test_a_whole_body_in_time_is_served(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\n"
        )
        time.sleep(0.1)
        sock.sendall(b"abcd")
        assert statuses(receive_all(sock)) == [(200, {"size": 4})]
    assert served.counted == []


def test_connections_over_the_cap_of_an_address_are_429_json(served: Served) -> None:
    held = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(CAP)]
    try:
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as extra:
            answers = statuses(receive_all(extra))
        assert answers[0][0] == 429
        assert answers[0][1]["error_code"] == "too_many_connections"
    finally:
        for sock in held:
            sock.close()
    assert served.counted == [429]


def test_a_pipelined_request_is_answered_before_the_refusal_of_what_follows(
    served: Served,
) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GARBAGE GARBAGE\r\n\r\n"
        )
        answers = statuses(receive_all(sock))
    assert [status for status, _ in answers] == [200, 400]
    assert answers[0][1] == {"size": 2}
    assert answers[1][1]["error_code"] == "invalid_request"


def test_an_http_2_request_line_is_refused(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(b"GET /x HTTP/2.0\r\nHost: x\r\n\r\n")
        answers = statuses(receive_all(sock))
    assert [(status, body["error_code"]) for status, body in answers] == [
        (505, "http_version_not_supported")
    ]
