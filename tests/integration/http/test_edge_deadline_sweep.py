"""The edge's deadlines are enforced by one sweep per server (`DeadlineSweep`), not by a
timer per request: the sweep runs only while connections are open, answers every
connection past its deadline, and a connection served in time is never touched. Both
protocol flavours, under a real uvicorn."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from bdbexport.adapters.http.edge_protocol import (
    MAX_SWEEP_INTERVAL,
    MIN_SWEEP_INTERVAL,
    edge_protocol,
    sweep_interval,
)
from tests.support.server_process import free_port
from tests.support.threaded_uvicorn import read_until_closed, uvicorn_in_thread

HEADER_TIMEOUT = 0.5


async def tiny_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


@dataclass
class Served:
    port: int
    protocol: Any


@contextmanager
def serving(protocol: Any) -> Iterator[Served]:
    result = Served(free_port(), protocol)
    # log_level critical: the failing sweep below is reported, on purpose.
    with uvicorn_in_thread(tiny_app, result.port, protocol, log_level="critical"):
        yield result


@pytest.fixture(params=["httptools", "h11"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serving(edge_protocol(request.param, header_timeout=HEADER_TIMEOUT)) as result:
        yield result


def sweep_becomes(served: Served, active: bool) -> bool:
    for _ in range(100):  # within 10 s
        if served.protocol.sweep.active is active:
            return True
        time.sleep(0.1)
    return False


def test_the_interval_is_a_tenth_of_the_smaller_timeout_within_bounds() -> None:
    assert sweep_interval(0.5, 30) == pytest.approx(0.05)
    assert sweep_interval(10, 2) == pytest.approx(0.2)
    assert sweep_interval(10, 30) == MAX_SWEEP_INTERVAL
    assert sweep_interval(0.01, 30) == MIN_SWEEP_INTERVAL


def test_the_sweep_runs_only_while_connections_are_open(served: Served) -> None:
    assert served.protocol.sweep.active is False
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        assert sweep_becomes(served, True)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200 ")
    assert sweep_becomes(served, False)


def test_one_sweep_answers_every_late_connection_and_closes_the_idle_one(
    served: Served,
) -> None:
    late = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(3)]
    try:
        for sock in late:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as idle:
            assert read_until_closed(idle) == b""  # idle: closed, nothing said
        answers = [read_until_closed(sock) for sock in late]
    finally:
        for sock in late:
            sock.close()
    for raw in answers:
        assert raw.startswith(b"HTTP/1.1 408 "), raw
        assert b'"error_code": "request_timeout"' in raw
    assert sweep_becomes(served, False)


@pytest.mark.parametrize("flavour", ["httptools", "h11"])
def test_a_connection_kept_alive_and_served_in_time_is_never_refused(flavour: str) -> None:
    header_timeout = 2.0  # each pause below is well within it (the machine may be busy)
    with (
        serving(edge_protocol(flavour, header_timeout=header_timeout)) as served,
        socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock,
    ):
        for _ in range(3):  # three pauses outlast one header deadline: it restarts
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            time.sleep(header_timeout * 0.4)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("flavour", ["httptools", "h11"])
def test_a_connection_whose_check_fails_does_not_stop_the_sweep_for_the_others(
    flavour: str,
) -> None:
    base = edge_protocol(flavour, header_timeout=HEADER_TIMEOUT)
    failures: list[Any] = []

    class FailingOnce(base):  # type: ignore[misc, valid-type]
        def enforce_deadlines(self, now: float) -> None:
            if not failures:
                failures.append(self)
                raise RuntimeError("a broken check")
            super().enforce_deadlines(now)

    with serving(FailingOnce) as served:
        late = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(2)]
        try:
            for sock in late:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            answers = [read_until_closed(sock) for sock in late]
        finally:
            for sock in late:
                sock.close()
    assert len(failures) == 1
    for raw in answers:
        assert raw.startswith(b"HTTP/1.1 408 "), raw
