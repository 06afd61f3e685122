"""The HTTP edge against a real `bdbexport serve`: the body deadline, the cap on
requests in flight per client address, pipelining before a parser refusal, HTTP
versions, and what every refusal carries: the app's (408, 429, 405) a Date, an
X-Request-Id, our JSON, an access line and a count; the server's own (400, 431) a Date,
an empty body and the connection closed (docs/security.md lists which are which).

The server runs with small limits (a 1.5 s body deadline, 6 requests an address), so
every wait is bounded by a socket timeout. Connections that must come from one address
bind a loopback source of their own. Caps on connections per address are the nginx
front's (tests/e2e/test_nginx_front.py).
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

from tests.support.raw_http import read_until_closed as read_socket_until_closed
from tests.support.server_process import ServerProcess

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
        "--max-requests-per-address", str(CAP),
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


def test_one_address_cannot_have_more_than_its_cap_of_requests_in_flight(edge: Edge) -> None:
    before = edge_refusals(edge.server.url)
    held = [connect(edge.port, "127.0.0.3") for _ in range(CAP)]
    try:
        for sock in held:  # each is in flight: its body is still to come
            sock.sendall(SLOW_BODIES["content_length_dripped"][0])
        refused: tuple[int, dict[str, str], Any] | None = None
        for _ in range(50):  # until the held requests have reached the app
            with connect(edge.port, "127.0.0.3") as extra:
                extra.sendall(
                    b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                refused = only_response(read_until_closed(extra))
            if refused[0] == 429:
                break
            time.sleep(0.05)
        assert refused is not None
        status, headers, body = refused
        assert (status, body["error_code"]) == (429, "too_many_requests"), body
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"] == "1"
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", headers["x-request-id"])
        # Another address is served meanwhile.
        assert httpx.get(f"{edge.server.url}/v1/openapi.json", timeout=10).status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert access_lines(edge.access, headers["x-request-id"])[0]["status"] == 429
    assert edge_refusals(edge.server.url)["429"] >= before.get("429", 0) + 1
    # Once its requests have ended, the address is served again.
    for _ in range(100):
        with connect(edge.port, "127.0.0.3") as again:
            again.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = responses(read_until_closed(again))[0][0]
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200


def assert_server_refusal(response: tuple[int, dict[str, str], Any], status: int) -> None:
    """A refusal in the server's own words: the status, a Date, no body, closed."""
    got_status, headers, body = response
    assert (got_status, body) == (status, None)
    assert headers["content-length"] == "0"
    assert headers["date"].endswith(" GMT")
    assert headers["connection"] == "close"


def test_a_pipelined_request_is_answered_before_the_garbage_after_it_is_refused(
    edge: Edge,
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(AUTHORIZE_HEAD + b"Content-Length: 2\r\n\r\n{}GARBAGE GARBAGE\r\n\r\n")
        found = responses(read_until_closed(sock))
    assert [status for status, _, _ in found] == [401, 400]
    assert found[0][2]["error_code"] == "unauthenticated"
    assert_server_refusal(found[1], 400)


def test_a_small_request_and_an_oversize_one_in_one_read_get_both_answers(edge: Edge) -> None:
    """The first answer is never lost (the bug of the edge protocol this replaced)."""
    small = b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
    oversize = b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40_000
    with connect(edge.port) as sock:
        sock.sendall(small + oversize + b"\r\n\r\n")
        found = responses(read_until_closed(sock))
    assert [status for status, _, _ in found] == [200, 431]
    assert found[0][2]["openapi"].startswith("3.")
    assert_server_refusal(found[1], 431)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/openapi.json\r\n\r\n",
        b"GET /v1/openapi.json HTTP/2.0\r\nHost: x\r\n\r\n",
    ],
    ids=["http_0_9", "http_2_0"],
)
def test_request_lines_of_other_http_versions_are_refused_by_the_server(
    edge: Edge, request_bytes: bytes
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(request_bytes)
        raw = read_until_closed(sock)
    assert_server_refusal(only_response(raw), 400)


SERVER_REFUSALS = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
]


@pytest.mark.parametrize(
    ("request_bytes", "status"), SERVER_REFUSALS, ids=["400", "431_target", "431_header"]
)
def test_the_servers_own_refusals_carry_date_and_close_the_connection(
    edge: Edge, request_bytes: bytes, status: int
) -> None:
    with connect(edge.port) as sock:
        sock.sendall(request_bytes)
        assert_server_refusal(only_response(read_until_closed(sock)), status)
    assert httpx.get(f"{edge.server.url}/v1/openapi.json", timeout=10).status_code == 200


def test_an_app_refusal_carries_date_and_request_id_and_is_logged(edge: Edge) -> None:
    with connect(edge.port) as sock:
        sock.sendall(b"FOO /v1/bdbs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body = only_response(read_until_closed(sock))
    assert (status, body["error_code"]) == (405, "method_not_allowed")
    assert headers["date"].endswith(" GMT")
    lines = access_lines(edge.access, headers["x-request-id"])
    assert len(lines) == 1
    assert set(lines[0]) == {
        "time", "request_id", "method", "path", "status", "duration_ms", "principal", "client",
    }  # fmt: skip
    assert (lines[0]["status"], lines[0]["client"], lines[0]["principal"]) == (
        405,
        "127.0.0.1",
        None,
    )
