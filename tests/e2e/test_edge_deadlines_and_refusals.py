"""The HTTP edge against a real `bdbexport serve`: the body deadline, the cap on
connections per client address, pipelining before a parser refusal, HTTP versions,
and what every edge refusal carries (Date, X-Request-Id, an access line, a count).

The server runs with small limits (a 1.5 s body deadline, 6 connections an address),
so the exhaustion case needs no `ulimit` and every wait is bounded by a socket timeout.
Connections that must come from one address bind a loopback source of their own.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server_process import ServerProcess
from tests.support.threaded_uvicorn import read_until_closed as read_socket_until_closed

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 1.5
CAP = 6
AUTHORIZE_HEAD = (
    b"POST /v1/users/authorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
)


@dataclass
class Edge:
    server: ServerProcess
    access: Path

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("edge")
    access = workdir / "access.jsonl"
    args = [
        "--exporter", "simulated",
        "--header-timeout", "5",
        "--body-timeout", str(BODY_TIMEOUT),
        "--max-connections-per-address", str(CAP),
        "--access-log", str(access),
        "--audit-log", "off",
    ]  # fmt: skip
    with ServerProcess(f"sqlite://{workdir / 'store.sqlite3'}", args=args, workdir=workdir) as s:
        s.start()
        yield Edge(s, access)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    return read_socket_until_closed(sock, timeout)


def responses(raw: bytes) -> list[tuple[int, dict[str, str], Any]]:
    """Split a stream of responses with Content-Length bodies."""
    found = []
    for _ in range(10):
        if not raw:
            break
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body, raw = rest[:length], rest[length:]
        found.append((int(status_line.split()[1]), headers, json.loads(body) if body else None))
    return found


def only_response(raw: bytes) -> tuple[int, dict[str, str], Any]:
    found = responses(raw)
    assert len(found) == 1, raw
    return found[0]


def assert_edge_refusal(
    response: tuple[int, dict[str, str], Any], status: int, code: str
) -> dict[str, str]:
    got_status, headers, body = response
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    assert set(body) == {"error_code", "description"}
    assert body["error_code"] == code
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", headers["x-request-id"])
    assert headers["date"].endswith(" GMT")
    assert headers["connection"] == "close"
    return headers


def access_lines(path: Path, request_id: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for _ in range(50):  # the sink flushes a few times a second
        lines = [
            entry
            for entry in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            if entry.get("request_id") == request_id
        ]
        if lines:
            break
        time.sleep(0.1)
    return lines


def edge_refusals(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        match[1]: float(match[2])
        for match in re.finditer(
            r'^bdbexport_http_edge_refusals_total\{status="(\d+)"\} (\S+)$', text, re.MULTILINE
        )
    }


SLOW_BODIES = {
    # (the request's start, what is dripped now and then: never enough to finish it)
    "content_length_dripped": (AUTHORIZE_HEAD + b"Content-Length: 60000\r\n\r\n{", b" "),
    "chunked_never_ending": (
        AUTHORIZE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
        b"1\r\n \r\n",
    ),
    "shorter_than_content_length": (AUTHORIZE_HEAD + b"Content-Length: 100\r\n\r\n{}", b""),
}


@pytest.mark.parametrize(("request_start", "drip"), SLOW_BODIES.values(), ids=SLOW_BODIES.keys())
def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(
    edge: Edge, request_start: bytes, drip: bytes
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(request_start)
        sock.settimeout(0.4)
        received = b""
        for _ in range(25):  # a drip now and then, for at most ~10 s
            try:
                received = sock.recv(65536)
            except TimeoutError:
                sock.sendall(drip)
                continue
            break
        received += read_until_closed(sock)
    response = only_response(received)
    headers = assert_edge_refusal(response, 408, "request_timeout")
    assert f"within {BODY_TIMEOUT:g} seconds" in response[2]["description"]
    lines = access_lines(edge.access, headers["x-request-id"])
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/v1/users/authorize", 408)
    ]


def test_many_slow_uploads_from_one_address_are_all_answered_and_closed(edge: Edge) -> None:
    socks = [connect(edge.port, "127.0.0.4") for _ in range(CAP)]
    try:
        for sock in socks:
            sock.sendall(SLOW_BODIES["content_length_dripped"][0])
        answers = [read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    for raw in answers:
        assert_edge_refusal(only_response(raw), 408, "request_timeout")


def test_one_address_cannot_hold_more_than_its_cap_of_connections(edge: Edge) -> None:
    before = edge_refusals(edge.server.url)
    held = [connect(edge.port, "127.0.0.3") for _ in range(CAP)]
    try:
        for sock in held:  # each is accepted and served
            sock.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in held:
            sock.settimeout(10)
            assert sock.recv(64).startswith(b"HTTP/1.1 200 ")
        with connect(edge.port, "127.0.0.3") as extra:
            extra.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            headers = assert_edge_refusal(
                only_response(read_until_closed(extra)), 429, "too_many_connections"
            )
        assert headers["retry-after"] == "1"
        # Another address is served meanwhile.
        assert httpx.get(f"{edge.server.url}/v1/openapi.json", timeout=10).status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert access_lines(edge.access, headers["x-request-id"])[0]["status"] == 429
    assert edge_refusals(edge.server.url)["429"] == before["429"] + 1
    # Once its connections are closed, the address is served again.
    for _ in range(50):
        with connect(edge.port, "127.0.0.3") as again:
            again.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = responses(read_until_closed(again))[0][0]
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200


def test_a_pipelined_request_is_answered_before_the_garbage_after_it_is_refused(
    edge: Edge,
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(AUTHORIZE_HEAD + b"Content-Length: 2\r\n\r\n{}GARBAGE GARBAGE\r\n\r\n")
        found = responses(read_until_closed(sock))
    assert [status for status, _, _ in found] == [401, 400]
    assert found[0][2]["error_code"] == "unauthenticated"
    assert_edge_refusal(found[1], 400, "invalid_request")


@pytest.mark.parametrize(
    ("request_bytes", "version"),
    [
        (b"GET /v1/openapi.json\r\n\r\n", "0.9"),
        (b"GET /v1/openapi.json HTTP/2.0\r\nHost: x\r\n\r\n", "2.0"),
    ],
    ids=["http_0_9", "http_2_0"],
)
def test_request_lines_of_other_http_versions_get_505(
    edge: Edge, request_bytes: bytes, version: str
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(request_bytes)
        response = only_response(read_until_closed(sock))
    assert_edge_refusal(response, 505, "http_version_not_supported")
    assert f"HTTP/{version} is not supported" in response[2]["description"]


REFUSALS = [
    (b"FOO /v1/bdbs HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_request"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431,
     "request_header_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(("request_bytes", "status", "code"), REFUSALS, ids=["400", "414", "431"])
def test_every_edge_refusal_carries_date_and_request_id_and_is_logged_and_counted(
    edge: Edge, request_bytes: bytes, status: int, code: str
) -> None:
    before = edge_refusals(edge.server.url)
    with connect(edge.port) as sock:
        sock.sendall(request_bytes)
        headers = assert_edge_refusal(only_response(read_until_closed(sock)), status, code)
    lines = access_lines(edge.access, headers["x-request-id"])
    assert len(lines) == 1
    assert set(lines[0]) == {
        "time", "request_id", "method", "path", "status", "duration_ms", "principal", "client",
    }  # fmt: skip
    assert (lines[0]["status"], lines[0]["client"], lines[0]["principal"]) == (
        status,
        "127.0.0.1",
        None,
    )
    assert edge_refusals(edge.server.url)[str(status)] == before[str(status)] + 1
