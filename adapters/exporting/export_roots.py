"""The directories `mount_point` exports may write into, and the check that keeps them
there.

A client's path is resolved the way the kernel would follow it (symlinks, `..`,
`/proc/self/cwd`, `/proc/self/root`), a relative one against the first root, and it
must land inside a root. A path outside gets one answer whatever it names (existing or
not, a file or a directory, readable or not): `ExportPathNotAllowedError`, whose
description says nothing about the server's file system, so the refusal cannot be used
to probe it. The check runs twice: when the export starts (400 before anything is
stored) and again when the worker opens the directory, because a symlink can change in
between.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from bdbexport.domain.errors import ExportPathNotAllowedError

EXPORTS_FOLDER = "exports"
"""The default root's name, next to the store's file (or in the data directory)."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


class ExportRoots:
    """Resolved export roots; the first one anchors relative paths."""

    def __init__(self, roots: Iterable[str | Path]) -> None:
        resolved: list[Path] = []
        for root in roots:
            real = _real(Path(root).expanduser().absolute())
            if real not in resolved:
                resolved.append(real)
        if not resolved:
            raise ValueError("at least one export root is needed")
        self.roots: tuple[Path, ...] = tuple(resolved)

    def __repr__(self) -> str:
        return f"ExportRoots({[str(root) for root in self.roots]!r})"

    def create_missing(self) -> None:
        """Make each root that does not exist yet, readable by its owner only (exports
        hold a database's data)."""
        for root in self.roots:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def resolve(self, path: str) -> Path:
        """The directory `path` names, fully resolved; `ExportPathNotAllowedError` unless
        it lies inside a root (a root itself counts)."""
        try:
            candidate = Path(path)
            if not candidate.is_absolute():
                candidate = self.roots[0] / candidate
            resolved = _real(candidate)
        except (OSError, ValueError):  # an embedded NUL, a name too long, ...
            raise ExportPathNotAllowedError() from None
        if not self.contains(resolved):
            raise ExportPathNotAllowedError()
        return resolved

    def contains(self, resolved: Path) -> bool:
        """Whether an already resolved path is a root or lies under one."""
        return any(resolved == root or resolved.is_relative_to(root) for root in self.roots)
