"""Hostile clients against real `bdbexport serve` processes (issue 12's Why list).

Two replicas share one SQLite store. Every case uses a bounded loop, asserts the exact
status and JSON body, and then that the server still answers a normal request as fast
as it did when quiet (100 ms, or a few times the quiet figure measured in this run on a
loaded machine). Tests that count failures use a loopback source address of their own
(127.0.0.x), because failed sign-ins are throttled per client address.
"""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.raw_http import read_until_closed
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow

ADMIN = ("ops@example.com", "ops-password")
VIEWER = ("viewer@example.com", "viewer-password")
LOCKED = ("locked@example.com", "locked-password")
LOCAL = ("local@example.com", "local-password")
TOKENS = ("tokens@example.com", "tokens-password")
FIGURE = ("figure@example.com", "figure-password")
FRESH = ("fresh@example.com", "fresh-password")
QUIET = ("quiet@example.com", "quiet-password")
HEADER_TIMEOUT = 1.5
USERS = [
    {"email": email, "password": password, "role": role}
    for (email, password), role in (
        (ADMIN, "admin"),
        (VIEWER, "db_viewer"),
        (LOCKED, "db_member"),
        (LOCAL, "db_member"),
        (TOKENS, "db_member"),
        (FIGURE, "db_viewer"),
        (FRESH, "db_viewer"),
        (QUIET, "db_viewer"),
    )
]
BOOTSTRAP: dict[str, Any] = {
    "users": USERS,
    "modules": [],
    "bdbs": [{"uid": 1, "name": "orders", "module_list": []}],
}


@dataclass
class Replicas:
    a: ServerProcess
    b: ServerProcess
    store: Path
    audit: tuple[Path, Path]
    access: Path


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    workdir = tmp_path_factory.mktemp("hostile")
    bootstrap = workdir / "bootstrap.json"
    bootstrap.write_text(json.dumps(BOOTSTRAP))
    store = workdir / "store.sqlite3"
    audit = (workdir / "audit-a.jsonl", workdir / "audit-b.jsonl")
    access = workdir / "access-a.jsonl"

    def args(audit_log: Path, access_log: str) -> list[str]:
        return [
            "--bootstrap", str(bootstrap),
            "--exporter", "simulated",
            "--header-timeout", str(HEADER_TIMEOUT),
            "--audit-log", str(audit_log),
            "--access-log", access_log,
        ]  # fmt: skip

    with (
        ServerProcess(f"sqlite://{store}", args=args(audit[0], str(access)), workdir=workdir) as a,
        ServerProcess(f"sqlite://{store}", args=args(audit[1], "off"), workdir=workdir) as b,
    ):
        a.start()
        b.start()
        for server in (a, b):
            QUIET_LATENCY[server.url] = best_of_five(server.url)
        yield Replicas(a, b, store, audit, access)


def client(url: str, source: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, timeout=30)


def basic(user: tuple[str, str]) -> dict[str, str]:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


QUIET_LATENCY: dict[str, float] = {}
"""Each replica's best-of-five latency for a normal request, measured right after it
started: the same run's baseline, so a loaded machine moves both figures."""


def best_of_five(url: str, *, enough: float = 0.0) -> float:
    best = float("inf")
    with httpx.Client(timeout=30) as http:  # built before timing: a client costs ~0.2 s
        for attempt in range(5):
            if attempt:
                time.sleep(0.05)
            started = time.perf_counter()
            response = http.get(f"{url}/v1/openapi.json")
            best = min(best, time.perf_counter() - started)
            assert response.status_code == 200
            if best < enough:
                break
    return best


def assert_still_serving(url: str) -> None:
    """A normal request answers within 100 ms, or within five times what it took when
    the replica was quiet (best of five: the machine is shared). A server still busy
    with what a hostile client left behind answers in seconds."""
    bound = max(0.1, 5 * QUIET_LATENCY[url])
    best = best_of_five(url, enough=bound)
    assert best < bound, f"a normal request took {best * 1000:.0f} ms (bound {bound * 1000:.0f})"


def assert_json_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "description"}
    assert body["error_code"] == code
    return body


# --- raw HTTP ------------------------------------------------------------------------


def parse_response(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    return read_until_closed(sock, timeout)


def read_response(sock: socket.socket, timeout: float = 30.0) -> bytes:
    """One response on a kept-alive connection: its head, then Content-Length bytes."""
    sock.settimeout(timeout)
    received = b""
    for _ in range(1000):
        head, separator, body = received.partition(b"\r\n\r\n")
        if separator:
            _, headers, _ = parse_response(head + b"\r\n\r\n")
            if len(body) >= int(headers.get("content-length", "0")):
                break
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return parse_response(read_all(sock))


SERVER_REFUSALS = [
    # Refused by the server's HTTP parser (granian), in its own words: the status, an
    # empty body, the connection closed (docs/security.md lists them).
    (
        b"POST /v1/users/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
        b"Content-Length: 2\r\n\r\nab",
        400,
    ),
    (b"POST /v1/users/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400),
    (b"GET /v1/bdbs/" + b"1" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    (
        b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 1000) for i in range(20))
        + b"\r\n",
        431,
    ),
]


@pytest.mark.parametrize(("request_bytes", "status"), SERVER_REFUSALS)
def test_what_the_http_parser_refuses_is_answered_and_the_connection_closed(
    replicas: Replicas, request_bytes: bytes, status: int
) -> None:
    answered_status, headers, answered = exchange(replicas.a.port, request_bytes)
    assert (answered_status, answered) == (status, None)
    assert headers["content-length"] == "0"
    assert headers["connection"] == "close"
    assert_still_serving(replicas.a.url)


def test_an_unknown_method_is_the_apps_json_405(replicas: Replicas) -> None:
    status, headers, body = exchange(
        replicas.a.port, b"FOO /v1/bdbs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert (status, body) == (
        405,
        {
            "error_code": "method_not_allowed",
            "description": "Method FOO is not allowed here; allowed: GET, HEAD.",
        },
    )
    assert headers["content-type"] == "application/json"
    assert_still_serving(replicas.a.url)


def test_a_128_mb_header_is_refused_after_a_few_kilobytes(replicas: Replicas) -> None:
    chunk = b"a" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", replicas.a.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sock.setblocking(False)
        for _ in range(128 * 16):  # at most 128 MiB
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(chunk)
                except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                    break
        sock.setblocking(True)
        status, headers, body = parse_response(read_all(sock))
    assert (status, body, headers["connection"]) == (431, None, "close")
    assert sent < 16 * 1024 * 1024  # answered long before the header ended
    assert_still_serving(replicas.a.url)


def test_slowloris_headers_and_idle_connections_are_closed(replicas: Replicas) -> None:
    """The header deadline is the server's (granian's header read timeout): a head not
    complete in time, or no request at all, and the connection closes, nothing said."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", replicas.a.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for index in range(40):  # a header line every 0.25 s, at most 10 s
            readable, _, _ = select.select([sock], [], [], 0.25)
            if readable:
                break
            try:
                sock.sendall(b"X-Drip-%d: 1\r\n" % index)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed or read_all(sock) == b""
    assert time.monotonic() - started < HEADER_TIMEOUT + 2
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", replicas.a.port), timeout=10) as idle:
        assert read_all(idle, timeout=HEADER_TIMEOUT + 3) == b""  # closed, nothing said
    assert time.monotonic() - started < HEADER_TIMEOUT + 2
    assert_still_serving(replicas.a.url)


def test_no_redirect_is_built_from_host_and_hostile_bodies_are_400_or_401(
    replicas: Replicas,
) -> None:
    with client(replicas.a.url) as http:
        slash = http.get("/v1/bdbs/1/", headers={**basic(ADMIN), "Host": "evil.example"})
        assert assert_json_error(slash, 404, "not_found") == {
            "error_code": "not_found",
            "description": "No such path: /v1/bdbs/1/.",
        }
        assert "location" not in slash.headers
        json_type = {"Content-Type": "application/json"}
        nested = http.post("/v1/users/authorize", content=b"[" * 60_000, headers=json_type)
        assert assert_json_error(nested, 400, "invalid_schema") == {
            "error_code": "invalid_schema",
            "description": "The body nests deeper than 32 levels.",
        }
        surrogate = http.post(
            "/v1/users/authorize",
            content=b'{"username": "ops@example.com", "password": "\\ud800"}',
            headers=json_type,
        )
        assert assert_json_error(surrogate, 400, "invalid_schema") == {
            "error_code": "invalid_schema",
            "description": "The body holds a string that is not valid Unicode.",
        }
        anonymous = http.post("/v1/bdbs/1/actions/export", content=b"[", headers=json_type)
        assert assert_json_error(anonymous, 401, "unauthenticated") == {
            "error_code": "unauthenticated",
            "description": "Authentication is required.",
        }
        viewer = http.post(
            "/v1/bdbs/1/actions/export", content=b"[", headers={**json_type, **basic(VIEWER)}
        )
        assert assert_json_error(viewer, 403, "forbidden") == {
            "error_code": "forbidden",
            "description": "Role 'db_viewer' does not have the permission 'start_bdb_export'.",
        }
        for hostile_id in (b"x" * 65, b"a b", "\u00e9".encode(), b"<script>"):
            response = http.get("/v1/openapi.json", headers={b"X-Request-Id": hostile_id})
            assert response.headers["x-request-id"] != hostile_id.decode("latin-1")
            assert len(response.headers["x-request-id"]) <= 64
    assert_still_serving(replicas.a.url)


# --- sign-ins ------------------------------------------------------------------------


def run_cli(
    *args: str, password: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("BDBEXPORT_STORE", None)
    if password is not None:
        env["BDBEXPORT_PASSWORD"] = password
    return subprocess.run(
        [*bdbexport_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def audit_events(path: Path, deadline: float = 5.0) -> list[dict[str, Any]]:
    """The audit log's events (the server flushes a few times a second)."""
    events: list[dict[str, Any]] = []
    for _ in range(int(deadline / 0.1)):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if events:
            break
        time.sleep(0.1)
    return events


def test_a_lock_placed_on_one_replica_holds_on_the_other_until_an_admin_unlocks(
    replicas: Replicas,
) -> None:
    with client(replicas.a.url, "127.0.0.20") as a, client(replicas.b.url, "127.0.0.20") as b:
        for attempt in range(4):
            wrong = a.get("/v1/bdbs/1", auth=(LOCKED[0], f"guess-{attempt}"))
            assert assert_json_error(wrong, 401, "unauthenticated") == {
                "error_code": "unauthenticated",
                "description": "Invalid username or password.",
            }
        locking = a.get("/v1/bdbs/1", auth=(LOCKED[0], "guess-4"))
        assert_json_error(locking, 401, "account_locked")
        right = b.get("/v1/bdbs/1", auth=LOCKED)  # the other replica, the right password
        description = assert_json_error(right, 401, "account_locked")["description"]
        assert description.startswith("The account is locked after too many failed sign-ins,")
        assert " until 20" in description
        assert description.endswith("Z.")
        unlocked = run_cli(
            "--url", replicas.b.url, "--user", ADMIN[0], "--json", "user", "unlock", LOCKED[0],
            password=ADMIN[1],
        )  # fmt: skip
        assert unlocked.returncode == 0, unlocked.stderr
        assert json.loads(unlocked.stdout) == {"email": LOCKED[0], "was_locked": True}
        assert a.get("/v1/bdbs/1", auth=LOCKED).status_code == 200
        refused = run_cli(
            "--url", replicas.b.url, "--user", VIEWER[0], "user", "unlock", LOCKED[0],
            password=VIEWER[1],
        )  # fmt: skip
        assert refused.returncode == 3
    events = audit_events(replicas.audit[0])
    failed = [e for e in events if e["event"] == "LoginFailed" and e["actor"] == LOCKED[0]]
    assert [e["reason"] for e in failed] == ["bad_credentials"] * 5
    assert all(e["client"] == "127.0.0.20" and e["request_id"] for e in failed)
    assert any(e["event"] == "AccountLocked" and e["actor"] == LOCKED[0] for e in events)
    assert "guess" not in replicas.audit[0].read_text()
    other = audit_events(replicas.audit[1])
    assert any(e["event"] == "AccountUnlocked" and e["subject"] == LOCKED[0] for e in other)
    assert_still_serving(replicas.b.url)


def test_the_local_cli_unlocks_in_the_store(replicas: Replicas) -> None:
    with client(replicas.a.url, "127.0.0.21") as a:
        for attempt in range(5):
            a.get("/v1/bdbs/1", auth=(LOCAL[0], f"guess-{attempt}"))
        assert_json_error(a.get("/v1/bdbs/1", auth=LOCAL), 401, "account_locked")
        unlocked = run_cli("--store", f"sqlite://{replicas.store}", "user", "unlock", LOCAL[0])
        assert unlocked.returncode == 0, unlocked.stderr
        assert unlocked.stdout == f"user {LOCAL[0]}: unlocked\n"
        assert a.get("/v1/bdbs/1", auth=LOCAL).status_code == 200
    assert_still_serving(replicas.a.url)


def test_unknown_names_from_one_address_are_throttled_with_retry_after(
    replicas: Replicas,
) -> None:
    with client(replicas.a.url, "127.0.0.30") as a:
        for index in range(20):
            response = a.get("/v1/bdbs/1", auth=(f"nobody-{index}@example.com", "pw"))
            assert_json_error(response, 401, "unauthenticated")
        throttled = a.get("/v1/bdbs/1", auth=FRESH)  # even a real user's first sign-in
        body = assert_json_error(throttled, 429, "too_many_attempts")
        retry_after = int(throttled.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert body["description"] == (
            f"Too many failed sign-ins from this address; retry in {retry_after} seconds."
        )
    with client(replicas.b.url, "127.0.0.31") as elsewhere:  # another address is not
        assert elsewhere.get("/v1/bdbs/1", auth=ADMIN).status_code == 200
    assert_still_serving(replicas.a.url)


def test_a_valid_first_login_takes_under_a_second_while_600_unknown_users_wait(
    replicas: Replicas,
) -> None:
    """The issue's goal figure: 600 concurrent unknown-user requests in flight (from six
    addresses, 100 each: under the per-address connection cap, so all 600 are really in
    flight), a valid user's first, uncached login (from another address) under 1 s.

    On a loaded machine the bound is twenty quiet first logins measured in this run: a
    valid login queued behind the flood's 600 verifications would take some 600."""
    with client(replicas.a.url, "127.0.0.52") as quiet:
        started = time.perf_counter()
        assert quiet.get("/v1/bdbs/1", auth=QUIET).status_code == 200
        baseline = time.perf_counter() - started
    bound = max(1.0, 20 * baseline)
    sockets: list[socket.socket] = []
    try:
        for index in range(600):
            sock = socket.socket()
            sock.bind((f"127.0.0.{70 + index % 6}", 0))
            sock.connect(("127.0.0.1", replicas.a.port))
            credentials = base64.b64encode(f"flood-{index}@example.com:pw".encode()).decode()
            sock.sendall(
                b"GET /v1/bdbs/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                + credentials.encode()
                + b"\r\n\r\n"
            )
            sockets.append(sock)
        with client(replicas.a.url, "127.0.0.51") as valid:
            started = time.perf_counter()
            response = valid.get("/v1/bdbs/1", auth=FIGURE)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200
        statuses = set()
        for sock in sockets:
            status, _, body = parse_response(read_response(sock))
            statuses.add((status, body["error_code"]))
    finally:
        for sock in sockets:
            sock.close()
    assert statuses <= {(401, "unauthenticated"), (429, "too_many_attempts")}
    print(f"valid first login during the flood: {elapsed:.3f} s (quiet: {baseline:.3f} s)")
    assert elapsed < bound, f"the valid login took {elapsed:.2f} s (bound {bound:.2f} s)"
    assert_still_serving(replicas.a.url)


def test_tokens_die_with_a_password_change_or_a_re_created_user_on_every_replica(
    replicas: Replicas,
) -> None:
    with client(replicas.a.url, "127.0.0.40") as a, client(replicas.b.url, "127.0.0.40") as b:
        token = a.post("/v1/users/authorize", auth=TOKENS).json()["access_token"]
        as_jwt = {"Authorization": f"JWT {token}"}
        assert b.get("/v1/bdbs/1", headers=as_jwt).status_code == 200
        renewed = b.post("/v1/users/authorize", json={"ttl": 86400}, headers=as_jwt)
        claims, first = (
            jwt.decode(value, options={"verify_signature": False})
            for value in (renewed.json()["access_token"], token)
        )
        assert claims["auth_time"] == first["auth_time"]
        assert claims["exp"] <= first["auth_time"] + 86400
        changed = run_cli(
            "--store", f"sqlite://{replicas.store}", "user", "set-password", TOKENS[0],
            "--password-stdin", stdin="a new password\n",
        )  # fmt: skip
        assert changed.returncode == 0, changed.stderr
        for replica in (a, b):
            refused = replica.get("/v1/bdbs/1", headers=as_jwt)
            assert assert_json_error(refused, 401, "unauthenticated") == {
                "error_code": "unauthenticated",
                "description": "The token is not valid.",
            }
            old_password = replica.get("/v1/bdbs/1", auth=TOKENS)
            assert_json_error(old_password, 401, "unauthenticated")
        fresh = a.post("/v1/users/authorize", auth=(TOKENS[0], "a new password"))
        second = {"Authorization": f"JWT {fresh.json()['access_token']}"}
        with sqlite3.connect(replicas.store) as database:  # deleted by an operator
            database.execute("DELETE FROM users WHERE email = ?", (TOKENS[0],))
        database.close()
        assert_json_error(b.get("/v1/bdbs/1", headers=second), 401, "unauthenticated")
        added = run_cli(
            "--store", f"sqlite://{replicas.store}", "user", "add", TOKENS[0],
            "--role", "db_member", "--password-stdin", stdin="a new password\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert_json_error(b.get("/v1/bdbs/1", headers=second), 401, "unauthenticated")
    events = audit_events(replicas.audit[0])
    assert any(e["event"] == "TokenIssued" and e["actor"] == TOKENS[0] for e in events)
    assert_still_serving(replicas.a.url)


def test_the_access_log_names_the_principal_and_the_client(replicas: Replicas) -> None:
    with client(replicas.a.url, "127.0.0.60") as a:
        assert a.get("/v1/bdbs/1", auth=VIEWER).status_code == 200
    lines: list[dict[str, Any]] = []
    for _ in range(50):  # flushed a few times a second
        lines = [
            json.loads(line)
            for line in replicas.access.read_text().splitlines()
            if '"127.0.0.60"' in line
        ]
        if lines:
            break
        time.sleep(0.1)
    assert lines
    assert lines[-1]["principal"] == VIEWER[0]
    assert lines[-1]["client"] == "127.0.0.60"
    assert VIEWER[1] not in replicas.access.read_text()
    assert_still_serving(replicas.a.url)
