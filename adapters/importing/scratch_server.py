"""A private `redis-server` that loads the file with Redis's own RDB loader, caged.

It listens only on a unix socket in the import's work directory (mode 700, no TCP
port), never saves (`--save ""`, no AOF), runs under a memory cap (`--maxmemory` and
`RLIMIT_AS`), a CPU-time limit and the parent-death signal (`cage.py`), and is killed
when the import ends, whatever the outcome. A file it cannot load makes it exit; its
log says why, and that becomes `file-corrupted` with Redis's own words as the detail —
unless it was a limit that stopped it: `general-error`, naming the limit.

While it loads, it is asked `INFO persistence` for its progress, and the wait for the
answer is cut into `POLL` slices with the import's progress report in between: a
loader busy running a file's Lua code answers nothing, and a cancel or a shutdown must
still be heard (the report raises) and kill it.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

from .cage import caged, write_owner
from .limits import MIB, ImportLimits
from .resp import ConnectionLostError, RespConnection, RespError

POLL = 0.25
MEMORY_WORDS = ("not enough memory", "Out Of Memory", "OOM command not allowed")
FAILED_READ = re.compile(r"Internal error in RDB reading offset (\d+)")


class ScratchServer:
    def __init__(
        self,
        binary: str,
        directory: Path,
        file_name: str,
        *,
        databases: int,
        timeout: float,
        limits: ImportLimits,
    ) -> None:
        self.socket_path = directory / "scratch.sock"
        self.log_path = directory / "scratch.log"
        self._directory = directory
        self._file = directory / file_name
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
            "--maxmemory", str(limits.max_memory),
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self._timeout = timeout
        self._limits = limits
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ScratchServer:
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                # Only C calls between fork and exec (cage.py): the one way to set the
                # parent-death signal and the limits before the loader's first instruction.
                preexec_fn=caged(  # noqa: PLW1509
                    memory=self._limits.max_memory, cpu_seconds=self._limits.cpu_seconds
                ),
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"cannot start the loader {self._command[0]}: {error}",
            ) from error
        with contextlib.suppress(OSError):
            write_owner(self._directory, self._process.pid)
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
        """Block until the whole file is in memory, telling `fraction` how far it got
        at least every `POLL` seconds (it raises to stop: cancel, shutdown)."""
        deadline = time.monotonic() + self._limits.load_timeout
        done = 0.0

        def waiting() -> None:
            self._check(deadline)
            fraction(done)

        while True:
            waiting()
            try:
                connection = self.connect()
            except OSError:  # not listening yet
                time.sleep(POLL)
                continue
            with connection, contextlib.suppress(ConnectionLostError):
                while True:
                    try:
                        info = connection.call_waiting(
                            "INFO", "persistence", waiting=waiting, every=POLL
                        )
                    except RespError:  # answered, so loaded (INFO is allowed while loading)
                        return
                    fields = _fields(info)
                    if fields.get("loading") != "1":
                        return
                    done = float(fields.get("loading_loaded_perc", "0")) / 100
                    waiting()
                    time.sleep(POLL)
            time.sleep(POLL)

    def failure(self) -> ImportFailedError | None:
        """Why the loader is gone, if it is (None: it runs)."""
        if self._process is None or self._process.poll() is None:
            return None
        return self._load_failure(self._process.returncode)

    def _check(self, deadline: float) -> None:
        failed = self.failure()
        if failed is not None:
            raise failed
        if time.monotonic() > deadline:
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the loader did not load the file within {self._limits.load_timeout:g} s"
                " (the import load timeout)",
            )

    def _load_failure(self, code: int) -> ImportFailedError:
        said = self._said()
        detail = "; ".join(said[-3:]) or "the loader exited"
        if code == -signal.SIGXCPU:
            return ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the loader used up its {self._limits.cpu_seconds} s of CPU time (the import"
                " CPU limit) and was stopped; Redis Functions in a file run while it loads",
            )
        if code == -signal.SIGKILL:
            return ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                "the loader was killed (SIGKILL: past its CPU-time limit's hard bound, or by"
                " the system's out-of-memory killer)",
            )
        if any(word in line for line in said for word in MEMORY_WORDS) or self._stopped_early(said):
            return ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the loader ran out of the {self._limits.max_memory // MIB} MiB of memory an"
                f" import may use (the import memory limit): {detail}",
            )
        if any("RDB" in line or "rdb" in line or "Short read" in line for line in said):
            return ImportFailedError(
                ImportFailureReason.FILE_CORRUPTED, f"Redis could not load the file: {detail}"
            )
        return ImportFailedError(ImportFailureReason.GENERAL_ERROR, f"the loader failed: {detail}")

    def _stopped_early(self, said: list[str]) -> bool:
        """Redis says "Short read or OOM" for both; a read that failed before the end
        of a complete file was an allocation that failed."""
        try:
            size = self._file.stat().st_size
        except OSError:
            return False
        offsets = [int(match.group(1)) for line in said if (match := FAILED_READ.search(line))]
        return any(line.startswith("Short read or OOM") for line in said) and any(
            0 < offset < size for offset in offsets
        )

    def _said(self) -> list[str]:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        return [line.split(" # ", 1)[-1].strip() for line in lines if " # " in line]


def _fields(info: object) -> dict[str, str]:
    text = info.decode(errors="replace") if isinstance(info, bytes) else ""
    return dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
    )
