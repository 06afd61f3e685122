"""Issue 25's latency row: `GET` p99 while 4 real exports run, with `serve` and its
worker as separate processes (`--worker-mode child`, the worker at `--nice 10`), against
the idle p99 of the same server in the same run. The in-process row beside it is
`GET p99 during 4 exports` (benchmarks/http_and_stores.py), measured the same way.

`python -m benchmarks.worker_latency [--quick]` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .http_and_stores import ADMIN as BENCH_ADMIN
from .http_and_stores import AUTH, EXPORTS_AT_ONCE, _filled_source, during_exports
from .processes import start_bdbexport, wrk
from .report import Report


def run(report: Report, workdir: Path, *, quick: bool) -> None:
    megabytes = 20 if quick else 200
    sources = [_filled_source(workdir, megabytes // EXPORTS_AT_ONCE) for _ in range(4)]
    try:
        document = {
            "users": [{"email": BENCH_ADMIN[0], "password": BENCH_ADMIN[1], "role": "admin"}],
            "bdbs": [
                {
                    "uid": uid,
                    "name": f"blobs{uid}",
                    "endpoints": [{"addr": ["127.0.0.1"], "port": port}],
                }
                for uid, (_, port) in enumerate(sources, start=1)
            ],
        }
        boot = workdir / "worker-bootstrap.json"
        boot.write_text(json.dumps(document))
        out = workdir / "worker-exports"
        out.mkdir()
        store = f"sqlite://{workdir / 'worker-apart.sqlite3'}"
        server, url = start_bdbexport(
            workdir,
            store,
            "--bootstrap",
            str(boot),
            "--export-root",
            str(out),
            "--worker-mode",
            "child",
        )
        try:
            idle = wrk(
                url,
                seconds=2 if quick else 5,
                method="GET",
                path="/v1/bdbs/1",
                authorization=AUTH,
                connections=8,
                workdir=workdir,
            )
            busy = during_exports(url, out, workdir, uids=range(1, EXPORTS_AT_ONCE + 1))
        finally:
            server.stop()
        report.ratio_at_most(
            f"GET p99 during {EXPORTS_AT_ONCE} exports, worker apart (--worker-mode child)",
            busy.p99_ms,
            "ms",
            idle.p99_ms,
            "idle p99",
            2.0,
        )
    finally:
        for source, _ in sources:
            source.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_latency")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="bdbexport-worker-latency-") as workdir:
        run(report, Path(workdir), quick=options.quick)
    print("\n" + report.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
