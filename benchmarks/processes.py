"""Processes the benchmarks run: servers, redis-server, wrk."""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


class Process:
    def __init__(self, command: list[str], *, log: Path, env: dict[str, str] | None = None) -> None:
        self.command = command
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                command, stdout=out, stderr=out, cwd=ROOT, env={**os.environ, **(env or {})}
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def uvicorn_options() -> list[str]:
    options = []
    for module, flag, value in (
        ("uvloop", "--loop", "uvloop"),
        ("httptools", "--http", "httptools"),
    ):
        try:
            __import__(module)
            options += [flag, value]
        except ImportError:
            pass
    return options


def start_bare(workdir: Path) -> tuple[Process, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.bare_app:app",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        *uvicorn_options(),
    ]
    process = Process(command, log=workdir / "bare.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url, process.popen)
    return process, url


def start_bare_granian(workdir: Path) -> tuple[Process, str]:
    """The same bare app on granian (one worker, uvloop, HTTP/1): `serve`'s server, and
    the faster floor here (docs/performance.md: the server)."""
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
    command += ["--workers", "1", "--runtime-threads", "1", "--http", "1", "--no-ws"]
    command += ["--loop", "uvloop", "--log-level", "warning", "benchmarks.bare_app:app"]
    process = Process(command, log=workdir / "bare-granian.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url, process.popen)
    return process, url


def start_bdbexport(
    workdir: Path, store: str, *args: str, pythonpath: str | None = None
) -> tuple[Process, str]:
    """`bdbexport serve` on a free port, logs in `workdir`; with `pythonpath`, the
    `bdbexport` package found first on it (another source tree: benchmarks.trees)."""
    port = free_port()
    if pythonpath is None:
        script = shutil.which("bdbexport")
        assert script, "install bdbexport first (README)"
        launcher = [script]
    else:
        launcher = [sys.executable, "-c", "from bdbexport.entrypoints.console import run; run()"]
    command = [
        *launcher,
        "serve",
        "--port",
        str(port),
        "--store",
        store,
        "--access-log",
        str(workdir / "access.log"),
        "--audit-log",
        str(workdir / "audit.log"),
        *args,
    ]
    env = None if pythonpath is None else {"PYTHONPATH": pythonpath}
    process = Process(command, log=workdir / f"serve-{port}.log", env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/v1/openapi.json", process.popen)
    return process, url


def start_redis(workdir: Path, *extra: str) -> tuple[Process, int]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (apt-get install redis-server)"
    port = free_port()
    directory = workdir / f"redis-{port}"
    directory.mkdir(parents=True)
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--save",
        "",
        "--appendonly",
        "no",
        *extra,
    ]
    process = Process(command, log=directory / "redis.log")
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return process, port


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wrk(
    url: str,
    *,
    seconds: float,
    method: str = "PUT",
    path: str = "/v1/bdbs/1/actions/export_reset_status",
    authorization: str | None = None,
    random_uid_up_to: int | None = None,
    connections: int = 32,
    threads: int = 1,
    workdir: Path,
) -> WrkResult:
    binary = shutil.which("wrk")
    assert binary, "wrk is needed (apt-get install wrk)"
    # Warm up: the first request verifies the password (scrypt) and fills the cache; the
    # steady state, not that one cold request, is what the figure is about.
    headers = {"Authorization": authorization} if authorization else {}
    warm_path = path.replace("{uid}", "1")
    httpx.request(method, url + warm_path, headers=headers, timeout=30)
    script = workdir / f"wrk-{free_port()}.lua"
    lines = [f'wrk.method = "{method}"']
    if authorization:
        lines.append(f'wrk.headers["Authorization"] = "{authorization}"')
    if random_uid_up_to:
        suffix = path.split("{uid}")[1]
        lines.append(
            'request = function() return wrk.format(nil, "/v1/bdbs/" ..'
            f' math.random(1, {random_uid_up_to}) .. "{suffix}") end'
        )
        path = "/"
    script.write_text("\n".join(lines) + "\n")
    output = subprocess.run(
        [
            binary,
            # One load thread, as the performance issue measured its figures (wrk, 32
            # connections, 1 thread): on two cores a second wrk thread competes with the
            # server under test for the cores (docs/performance.md: both, compared).
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(int(seconds), 1)}s",
            "--latency",
            "-s",
            str(script),
            url + path,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        raise RuntimeError(f"wrk saw {non2xx.group(1)} error responses from {url + path}")
    return WrkResult(rps, _percentile(output, "50%"), _percentile(output, "99%"))


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    assert match, output
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
