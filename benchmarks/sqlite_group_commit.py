"""`python -m benchmarks.sqlite_group_commit`: does grouping changes per commit pay?

The store's settings (WAL, `synchronous=NORMAL`), compare-and-set updates of one row
each, N of them per `BEGIN IMMEDIATE ... COMMIT`. Prints microseconds per change for
each N; docs/performance.md reads the answer (issue 16, item 3).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

CHANGES = 20_000
ROWS = 1_000


def per_change(connection: sqlite3.Connection, group: int) -> float:
    document = json.dumps({"name": "x" * 200, "export_status": "idle"})
    revisions = dict.fromkeys(range(1, ROWS + 1), 1)
    started = time.perf_counter()
    for first in range(0, CHANGES, group):
        connection.execute("BEGIN IMMEDIATE")
        for offset in range(group):
            uid = (first + offset) % ROWS + 1
            connection.execute(
                "UPDATE bdbs SET revision = ?, doc = ? WHERE uid = ? AND revision = ?",
                (revisions[uid] + 1, document, uid, revisions[uid]),
            )
            revisions[uid] += 1
        connection.execute("COMMIT")
    return (time.perf_counter() - started) / CHANGES


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bdbexport-group-commit-") as directory:
        connection = sqlite3.connect(Path(directory) / "g.sqlite3", isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(
                "CREATE TABLE bdbs (uid INTEGER PRIMARY KEY, revision INTEGER, doc TEXT)"
            )
            connection.executemany(
                "INSERT INTO bdbs VALUES (?, 1, '{}')", ((uid,) for uid in range(1, ROWS + 1))
            )
            for group in (1, 4, 16, 32):
                micros = per_change(connection, group) * 1e6
                print(f"{group:2d} changes a commit: {micros:6.1f} µs a change")
        finally:
            connection.close()


if __name__ == "__main__":
    main()
