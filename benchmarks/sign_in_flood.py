"""Fresh sign-ins during a sustained flood of unknown users (issue 22, finding 5).

600 keep-alive connections, spread over ten loopback addresses (127.0.0.101-110, under
the per-address connection cap), re-send `GET /v1/bdbs/1` with a new unknown user's
Basic credentials as fast as the server answers, for 15 s. Meanwhile, from another
address, users the server has never verified sign in, one every two seconds once the
flood has run for three: the figure is the slowest of those first sign-ins, with the
real scrypt parameters (target: under 1 s). `python -m benchmarks.sign_in_flood PORT
SECONDS` is the flood itself, run as a process of its own so it does not share the
measuring client's interpreter.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from .processes import ROOT, start_bdbexport
from .report import Report, Row

CONNECTIONS = 600
ADDRESSES = tuple(f"127.0.0.{101 + index}" for index in range(10))
SECONDS = 15.0
SIGN_INS = 5
FIRST_AFTER = 3.0
SPACING = 2.0
TARGET = 1.0
MEASURING_ADDRESS = "127.0.0.1"


def fresh_users(count: int) -> list[tuple[str, str]]:
    return [(f"fresh-{index}@example.com", f"fresh-password-{index}") for index in range(count)]


# --- the flood (its own process) ----------------------------------------------------


async def _one_connection(
    port: int, source: str, index: int, until: float, seen: Counter[int]
) -> None:
    sent = 0
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
        except OSError:
            await asyncio.sleep(0.05)
            continue
        try:
            while time.monotonic() < until:
                sent += 1
                pair = f"flood-{index}-{sent}@example.com:guess-{sent}".encode()
                writer.write(
                    b"GET /v1/bdbs/1 HTTP/1.1\r\nHost: flood\r\nAuthorization: Basic "
                    + base64.b64encode(pair)
                    + b"\r\n\r\n"
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                seen[status] += 1
                if re.search(rb"(?i)connection: *close", head):
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            seen[0] += 1
        finally:
            writer.close()


async def _flood(port: int, seconds: float) -> Counter[int]:
    until = time.monotonic() + seconds
    seen: Counter[int] = Counter()
    await asyncio.gather(
        *(
            _one_connection(port, ADDRESSES[index % len(ADDRESSES)], index, until, seen)
            for index in range(CONNECTIONS)
        )
    )
    return seen


class Flood:
    """The flood as a child process, for `seconds` against `port`."""

    def __init__(self, port: int, seconds: float) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sign_in_flood", str(port), str(seconds)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )

    def answers(self, timeout: float = 60) -> dict[int, int]:
        """How the server answered the flood, by status (0: a broken connection)."""
        out, _ = self.process.communicate(timeout=timeout)
        return {int(status): count for status, count in json.loads(out).items()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def first_sign_in(url: str, user: tuple[str, str], timeout: float = 60) -> tuple[int, float]:
    """A never-verified user's first request, from `MEASURING_ADDRESS` on a new
    connection: its status and seconds."""
    transport = httpx.HTTPTransport(local_address=MEASURING_ADDRESS)
    with httpx.Client(base_url=url, transport=transport, timeout=timeout) as client:
        started = time.perf_counter()
        response = client.get("/v1/bdbs/1", auth=user)
        return response.status_code, time.perf_counter() - started


def sign_ins_during(
    url: str, port: int, users: list[tuple[str, str]], *, timeout: float = 60
) -> tuple[list[float], dict[int, int]]:
    """Each of `users` signs in once during a flood (`FIRST_AFTER`, then `SPACING`
    apart): the seconds each took (all must be 200) and the flood's answers."""
    flood = Flood(port, SECONDS)
    took: list[float] = []
    try:
        for index, user in enumerate(users):
            time.sleep(max(0.0, flood.started + FIRST_AFTER + index * SPACING - time.monotonic()))
            status, seconds = first_sign_in(url, user, timeout)
            if status != 200:
                raise AssertionError(f"{user[0]}'s first sign-in answered {status}")
            took.append(seconds)
        answers = flood.answers()
    finally:
        flood.stop()
    return took, answers


def bootstrap(workdir: Path, users: list[tuple[str, str]]) -> Path:
    path = workdir / "bootstrap.json"
    document = {
        "users": [
            {"email": email, "password": password, "role": "db_viewer"} for email, password in users
        ],
        "bdbs": [{"uid": 1, "name": "orders"}],
    }
    path.write_text(json.dumps(document))
    return path


def run(report: Report) -> None:
    users = fresh_users(SIGN_INS)
    with tempfile.TemporaryDirectory(prefix="bdbexport-flood-") as directory:
        workdir = Path(directory)
        store = f"sqlite://{workdir / 'store.sqlite3'}"
        server, url = start_bdbexport(
            workdir, store, "--bootstrap", str(bootstrap(workdir, users)), "--exporter", "simulated"
        )
        try:
            took, answers = sign_ins_during(url, int(url.rsplit(":", 1)[1]), users)
        finally:
            server.stop()
    print(f"  flood answers: {answers}; first sign-ins: {[round(s, 3) for s in took]}")
    slowest = max(took)
    report.add(
        Row(
            f"sign-in: a new user's first, during a {SECONDS:g} s flood of {CONNECTIONS}"
            f" unknown-user connections (slowest of {SIGN_INS})",
            slowest,
            "s",
            target=f"< {TARGET:g} s",
            met=slowest < TARGET,
        )
    )


if __name__ == "__main__":
    seen = asyncio.run(_flood(int(sys.argv[1]), float(sys.argv[2])))
    print(json.dumps({str(status): count for status, count in seen.items()}))
