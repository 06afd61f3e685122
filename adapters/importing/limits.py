"""How much an import may take from the machine: the bounds an untrusted file is
loaded and copied under (docs/security.md, "Imports").

An RDB file is not inert data: Redis Functions in it are Lua code the loader runs
while it loads (`RDB_OPCODE_FUNCTION2`, with no time limit on that path), and a few
compressed bytes can unfold into gigabytes. So the scratch `redis-server` that reads
the file runs in a cage (`cage.py`), and the file itself is bounded before it reaches
the disk (`sources.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2

DEFAULT_MAX_BYTES = 4 * GIB
DEFAULT_MAX_MEMORY = 4 * GIB
DEFAULT_CPU_SECONDS = 600
DEFAULT_LOAD_TIMEOUT = 600.0
DEFAULT_FREE_RESERVE = 256 * MIB


@dataclass(frozen=True)
class ImportLimits:
    """Every bound of one import; each is a `serve` option (docs/security.md)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    """The largest file an import copies (`--import-max-bytes`): a source announcing
    more is refused before a byte is copied, one sending more is cut off there."""
    max_memory: int = DEFAULT_MAX_MEMORY
    """What the scratch loader may hold (`--import-max-memory`): its `maxmemory`, and
    its address space (`RLIMIT_AS`) this plus `ADDRESS_SPACE_HEADROOM`."""
    cpu_seconds: int = DEFAULT_CPU_SECONDS
    """CPU time the scratch loader may use in all (`--import-cpu-limit`, `RLIMIT_CPU`):
    loading the file and answering the copy."""
    load_timeout: float = DEFAULT_LOAD_TIMEOUT
    """Seconds the loader may take to load the file (`--import-load-timeout`)."""
    free_reserve: int = DEFAULT_FREE_RESERVE
    """Bytes the import leaves free on the disk of its work directory: checked with
    the file's size before copying, and while copying."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_memory", "cpu_seconds", "load_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the import limit {name} must be positive")
        if self.free_reserve < 0:
            raise ValueError("the import limit free_reserve must not be negative")
