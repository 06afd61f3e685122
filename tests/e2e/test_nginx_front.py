"""The documented nginx front (docs/nginx-front.md), tested: Debian's nginx runs the
configuration block of that page, changed only in its ports and certificate paths, in
front of a real `bdbexport serve`, and the hostile clients meet it over TLS.

What serve no longer does itself (a cap on connections per client address) is asserted
here; the rest checks that the front keeps every other rule of the edge, in the words
the page's table gives.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.support.raw_http import read_until_closed
from tests.support.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "nginx-front.md"
CAP = 32
"""`limit_conn` of the page."""
ADMIN = ("ops@example.com", "ops-password")


def documented_config() -> str:
    blocks = re.findall(r"```nginx\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "the page has one nginx configuration"
    block: str = blocks[0]
    return block


@dataclass
class Front:
    port: int
    context: ssl.SSLContext
    server: ServerProcess
    access: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def connect(self, source: str = "127.0.0.1") -> ssl.SSLSocket:
        raw = socket.create_connection(
            ("127.0.0.1", self.port), timeout=10, source_address=(source, 0)
        )
        return self.context.wrap_socket(raw, server_hostname="localhost")


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    workdir = tmp_path_factory.mktemp("nginx-front")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = workdir / "cert.pem", workdir / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)

    bootstrap = workdir / "bootstrap.json"
    users = [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}]
    bootstrap.write_text(json.dumps({"users": users, "bdbs": [{"uid": 1, "name": "orders"}]}))
    access = workdir / "access.jsonl"
    args = [
        "--bootstrap", str(bootstrap),
        "--exporter", "simulated",
        "--body-timeout", "5",
        "--forwarded-allow-ips", "127.0.0.1",
        "--access-log", str(access),
        "--audit-log", "off",
    ]  # fmt: skip
    assert shutil.which("nginx"), "nginx is needed (apt-get install nginx)"
    port = free_port()
    config = (
        documented_config()
        .replace("server 127.0.0.1:9443;", "server 127.0.0.1:{upstream};")
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace("/etc/ssl/bdbexport/cert.pem", str(certfile))
        .replace("/etc/ssl/bdbexport/key.pem", str(keyfile))
        # The tests' clients wait for the header deadline: a short one keeps them short.
        .replace("client_header_timeout       10s;", "client_header_timeout       2s;")
        .replace("keepalive_timeout           10s;", "keepalive_timeout           2s;")
    )
    with ServerProcess(f"sqlite://{workdir / 'store.sqlite3'}", args=args, workdir=workdir) as s:
        s.start()
        (workdir / "bdbexport.conf").write_text(config.replace("{upstream}", str(s.port)))
        for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (workdir / folder).mkdir()
        (workdir / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\ndaemon off;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log info;\nevents {{}}\nhttp {{\n"
            f"  access_log {workdir}/nginx-access.log;\n"
            f"  client_body_temp_path {workdir}/body;\n  proxy_temp_path {workdir}/proxy;\n"
            f"  fastcgi_temp_path {workdir}/fastcgi;\n  uwsgi_temp_path {workdir}/uwsgi;\n"
            f"  scgi_temp_path {workdir}/scgi;\n  include {workdir}/bdbexport.conf;\n}}\n"
        )
        nginx = subprocess.Popen(
            [
                "nginx",
                "-p",
                str(workdir),
                "-e",
                str(workdir / "error.log"),
                "-c",
                str(workdir / "nginx.conf"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            result = Front(port, context, s, access)
            for _ in range(200):
                try:
                    httpx.get(f"{result.url}/v1/openapi.json", verify=context, timeout=2)
                    break
                except httpx.TransportError:
                    assert nginx.poll() is None, (workdir / "error.log").read_text()
                    time.sleep(0.05)
            yield result
        finally:
            nginx.terminate()
            nginx.wait(30)


def responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
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
        found.append((int(status_line.split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return found


def json_of(body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def test_requests_pass_through_and_the_access_log_sees_the_real_client(front: Front) -> None:
    with httpx.Client(verify=front.context, timeout=10) as http:
        response = http.get(f"{front.url}/v1/bdbs/1", auth=ADMIN)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    for _ in range(50):
        lines = [
            json.loads(line)
            for line in front.access.read_text(encoding="utf-8").splitlines()
            if request_id in line
        ]
        if lines:
            break
        time.sleep(0.1)
    assert lines[0]["client"] == "127.0.0.1"
    assert lines[0]["principal"] == ADMIN[0]


SLOW_UPLOAD = (
    b"POST /v1/users/authorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 60000\r\n\r\n{"
)


def test_one_address_cannot_hold_more_than_the_cap_of_connections(front: Front) -> None:
    """nginx counts a connection while it has a request in progress (`limit_conn`):
    slow uploads hold them (serve's body deadline, 5 s here, would end them)."""
    held = []
    try:
        for _ in range(CAP):
            sock = front.connect("127.0.0.6")
            sock.sendall(SLOW_UPLOAD)
            held.append(sock)
        with front.connect("127.0.0.6") as extra:
            extra.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            ((status, headers, body),) = responses(read_until_closed(extra, 10))[:1]
        assert status == 429
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"] == "1"
        assert json_of(body)["error_code"] == "too_many_connections"
        # Another address is served meanwhile.
        with front.connect("127.0.0.7") as other:
            other.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_until_closed(other, 10).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()


def test_slow_headers_and_idle_connections_are_closed(front: Front) -> None:
    with front.connect() as sock:
        sock.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for index in range(40):  # a header line every 0.25 s, at most 10 s
            readable, _, _ = select.select([sock], [], [], 0.25)
            if readable:
                break
            try:
                sock.sendall(b"X-Drip-%d: 1\r\n" % index)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                closed = True
                break
        assert closed or read_until_closed(sock, 10) == b""
    started = time.monotonic()
    with front.connect() as idle:
        assert read_until_closed(idle, 10) == b""
    assert time.monotonic() - started < 8  # closed by the (2 s) deadline, not our timeout


def test_a_huge_header_is_refused_by_the_front(front: Front) -> None:
    with front.connect() as sock:
        sock.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000)
        sock.sendall(b"\r\n\r\n")
        status = responses(read_until_closed(sock, 10))[0][0]
    assert status == 400


def test_a_slow_body_gets_servers_408_json_through_the_front(front: Front) -> None:
    with front.connect() as sock:
        sock.sendall(SLOW_UPLOAD)
        sock.settimeout(0.4)
        received = b""
        for _ in range(50):  # a drip now and then, for at most ~20 s
            try:
                received = sock.recv(65536)
            except TimeoutError:
                sock.sendall(b" ")
                continue
            break
        received += read_until_closed(sock, 10)
    status, headers, body = responses(received)[0]
    assert status == 408
    assert headers["content-type"] == "application/json"
    assert json_of(body)["error_code"] == "request_timeout"


def test_a_body_over_the_limit_is_413_json(front: Front) -> None:
    with httpx.Client(verify=front.context, timeout=10) as http:
        response = http.post(
            f"{front.url}/v1/users/authorize",
            content=b"{" + b" " * 70_000 + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error_code"] == "request_too_large"


def test_pipelined_requests_are_all_answered_in_order(front: Front) -> None:
    small = b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
    with front.connect() as sock:
        sock.sendall(
            small + small + b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        found = responses(read_until_closed(sock, 10))
    assert [status for status, _, _ in found] == [200, 200, 404]
    assert json_of(found[2][2])["error_code"] == "not_found"
