"""`python -m benchmarks [--quick]`: every benchmark, one table (docs/performance.md)."""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from . import (
    http_and_stores,
    remote_exports,
    rules_engine,
    scale_out,
    sign_in_flood,
    worker_latency,
    workers,
)
from .report import Report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny counts, for CI")
    parser.add_argument("--markdown", help="also write the table to this file")
    options = parser.parse_args()
    report = Report()
    print(
        f"bdbexport benchmarks, {'quick' if options.quick else 'full'} mode,"
        f" {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}"
    )
    bare = http_and_stores.run(report, quick=options.quick)
    with tempfile.TemporaryDirectory(prefix="bdbexport-scale-") as workdir:
        scale_out.run(report, Path(workdir), seconds=2 if options.quick else 10)
    rules_engine.run(report, quick=options.quick, bare_http_seconds=bare)
    sign_in_flood.run(report)
    with tempfile.TemporaryDirectory(prefix="bdbexport-worker-latency-") as workdir:
        worker_latency.run(report, Path(workdir), quick=options.quick)
    with tempfile.TemporaryDirectory(prefix="bdbexport-workers-") as workdir:
        workers.run(report, Path(workdir), count=100 if options.quick else 1000)
    remote_exports.run(report, quick=options.quick)
    table = report.markdown()
    print("\n" + table)
    if options.markdown:
        with open(options.markdown, "w", encoding="utf-8") as out:
            out.write(table + "\n")
    missed = [row.figure for row in report.rows if row.met is False]
    print(
        f"\n{len(report.rows)} figures, {sum(r.met is True for r in report.rows)} targets met,"
        f" {len(missed)} missed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
