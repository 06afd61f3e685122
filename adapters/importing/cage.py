"""The cage a scratch `redis-server` runs in, and what is left when one escaped it.

Set between fork and exec (`subprocess.Popen(preexec_fn=...)`), so the loader is
bounded from its first instruction:

- `RLIMIT_AS`: its address space, the memory cap plus `ADDRESS_SPACE_HEADROOM` (an
  idle Redis 7 maps about 60 MiB; a loaded one about its `used_memory` plus as much).
  A Lua allocation that does not fit fails the function ("not enough memory"), a
  key's allocation fails the load ("Short read or OOM"): the loader exits.
- `RLIMIT_CPU`: its CPU time; `SIGXCPU` at the soft limit (Redis does not catch it, so
  it ends the process), `SIGKILL` `CPU_HARD_GRACE` seconds later for anything that does.
- `RLIMIT_CORE` 0: a crashed loader leaves no image of the file's data.
- `PR_SET_PDEATHSIG` = `SIGKILL`: the kernel kills the loader when the *thread* that
  started it ends — the import's worker thread, which waits for the loader until it is
  gone anyway, or the whole server (`kill -9` included). The parent's pid is checked
  after the call, so a parent that died just before it is noticed too.

A loader that outlives its server all the same (a server older than the cage, a
platform without `prctl`) is found by the next start: each work directory holds an
`owner` file naming the server and the loader, with their start times so a reused
pid is never mistaken for them; `reap_leftovers` kills the loader of every directory
whose server is gone and removes the directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from .limits import MIB

ADDRESS_SPACE_HEADROOM = 256 * MIB
CPU_HARD_GRACE = 2
PR_SET_PDEATHSIG = 1
OWNER_FILE = "owner"
WORK_PREFIX = "bdbexport-import-"


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's `prctl`, looked up in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


def caged(*, memory: int, cpu_seconds: int) -> Callable[[], None]:
    """The `preexec_fn` that puts a loader in its cage. It only calls into the C
    library (no Python locks, no imports), as code between fork and exec must."""
    address_space = memory + ADDRESS_SPACE_HEADROOM
    parent = os.getpid()
    prctl = _prctl()
    # prctl's arguments are unsigned longs: passed as such, not as C ints.
    arguments = [ctypes.c_ulong(value) for value in (signal.SIGKILL, 0, 0, 0)]
    wanted = (
        (resource.RLIMIT_AS, address_space, address_space),
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + CPU_HARD_GRACE),
        (resource.RLIMIT_CORE, 0, 0),
    )
    limits = [(kind, _under(soft, kind), _under(hard, kind)) for kind, soft, hard in wanted]

    def enter() -> None:
        for kind, soft, hard in limits:
            resource.setrlimit(kind, (soft, hard))
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, *arguments)
        if os.getppid() != parent:
            os._exit(1)

    return enter


def _under(value: int, kind: int) -> int:
    """`value`, or the hard limit already set if lower (a child may only lower it)."""
    ceiling = resource.getrlimit(kind)[1]
    return value if ceiling == resource.RLIM_INFINITY else min(value, ceiling)


def started_at(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such process):
    with the pid, it names one process for ever."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def write_owner(directory: Path, loader: int | None = None) -> None:
    """Record who owns `directory`: this server, and its `loader` once started."""
    me = os.getpid()
    running = f"{loader} {started_at(loader)}" if loader is not None else "0 None"
    (directory / OWNER_FILE).write_text(f"{me} {started_at(me)}\n{running}\n", encoding="ascii")


def _alive(pid: str, start: str) -> bool:
    return pid.isdigit() and int(pid) > 0 and start != "None" and started_at(int(pid)) == start


def reap_leftovers(root: Path) -> int:
    """Kill the loaders of import work directories in `root` whose server is gone,
    and remove the directories; how many loaders were killed. Directories of live
    servers (other replicas sharing `root`) and without an `owner` file are left."""
    killed = 0
    try:
        candidates = [path for path in root.iterdir() if path.name.startswith(WORK_PREFIX)]
    except OSError:
        return 0
    for directory in candidates:
        try:
            lines = (directory / OWNER_FILE).read_text(encoding="ascii").split("\n")
            (owner, owner_start), (loader, loader_start) = (line.split() for line in lines[:2])
        except (OSError, ValueError):
            continue
        if _alive(owner, owner_start):
            continue
        if _alive(loader, loader_start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(loader), signal.SIGKILL)
                killed += 1
        shutil.rmtree(directory, ignore_errors=True)
    return killed
