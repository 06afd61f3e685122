"""A real `bdbexport serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.support.workers import free_port

__all__ = ["ServerProcess", "bdbexport_command", "free_port"]


def bdbexport_command() -> list[str]:
    script = shutil.which("bdbexport")
    assert script is not None, "the bdbexport console script is not installed"
    return [script]


class ServerProcess:
    """Starts on construction, ready when `start()` returns; `stop()` sends SIGTERM."""

    _rebinds = 0

    def __init__(
        self,
        store_url: str,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        workdir: Path,
    ) -> None:
        self._store_url = store_url
        self._args = tuple(args)
        self._tls = tls
        self._workdir = workdir
        self._take_port(free_port())
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def _take_port(self, port: int) -> None:
        self.port = port
        scheme = "https" if self._tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.stdout_path = self._workdir / f"serve-{self.port}.out"
        self.stderr_path = self._workdir / f"serve-{self.port}.err"
        command = [
            *bdbexport_command(),
            "serve",
            "--port",
            str(self.port),
            "--store",
            self._store_url,
            *self._args,
        ]
        if self._tls:
            command += ["--certfile", str(self._tls[0]), "--keyfile", str(self._tls[1])]
        self.command = command

    def start(self, verify: ssl.SSLContext | bool = True, timeout: float = 30.0) -> ServerProcess:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=err, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "address already in use" in self.stderr() and self._rebinds < 3:
                    # Another process took the port between our probe and the bind
                    # (another developer's test run): the port is not under test.
                    self._rebinds += 1
                    self._take_port(free_port())
                    return self.start(verify, timeout)
                raise RuntimeError(f"server exited early:\n{self.stderr()}\n{self.stdout()}")
            try:
                httpx.get(f"{self.url}/v1/openapi.json", verify=verify, timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.stderr()}")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
