"""A private `redis-server` that loads the file with Redis's own RDB loader.

It listens only on a unix socket in the import's work directory (mode 700, no TCP
port), never saves (`--save ""`, no AOF) and is killed when the import ends, whatever
the outcome. A file it cannot load makes it exit; its log says why, and that becomes
`file-corrupted` with Redis's own words as the detail.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

from .resp import ConnectionLostError, RespConnection, RespError

POLL = 0.05


class ScratchServer:
    def __init__(
        self,
        binary: str,
        directory: Path,
        file_name: str,
        *,
        databases: int,
        timeout: float,
        start_timeout: float,
    ) -> None:
        self.socket_path = directory / "scratch.sock"
        self.log_path = directory / "scratch.log"
        self._command = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--dbfilename", file_name,
            "--save", "",
            "--appendonly", "no",
            "--databases", str(databases),
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self._timeout = timeout
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ScratchServer:
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"cannot start the loader {self._command[0]}: {error}",
            ) from error
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None

    def connect(self) -> RespConnection:
        return RespConnection.unix(str(self.socket_path), timeout=self._timeout)

    def wait_loaded(self, fraction: Callable[[float], None]) -> None:
        """Block until the whole file is in memory, telling `fraction` how far it got."""
        assert self._process is not None
        deadline = time.monotonic() + self._start_timeout
        while True:
            if self._process.poll() is not None:
                raise self._load_failure()
            with contextlib.suppress(OSError, ConnectionLostError), self.connect() as connection:
                while True:
                    try:
                        info = connection.call("INFO", "persistence")
                    except RespError:  # answered, so loaded (INFO is allowed while loading)
                        return
                    fields = _fields(info)
                    if fields.get("loading") != "1":
                        return
                    fraction(float(fields.get("loading_loaded_perc", "0")) / 100)
                    self._check(deadline)
                    time.sleep(POLL)
            self._check(deadline)
            time.sleep(POLL)

    def _check(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the loader did not load the file within {self._start_timeout:.0f} s",
            )

    def _load_failure(self) -> ImportFailedError:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        said = [line.split(" # ", 1)[-1].strip() for line in lines if " # " in line]
        detail = "; ".join(said[-3:]) or "the loader exited"
        if any("RDB" in line or "rdb" in line or "Short read" in line for line in said):
            return ImportFailedError(
                ImportFailureReason.FILE_CORRUPTED, f"Redis could not load the file: {detail}"
            )
        return ImportFailedError(ImportFailureReason.GENERAL_ERROR, f"the loader failed: {detail}")


def _fields(info: object) -> dict[str, str]:
    text = info.decode(errors="replace") if isinstance(info, bytes) else ""
    return dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
    )
