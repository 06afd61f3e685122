"""`python -m benchmarks.trees STORE [--threads N] [--seconds S] [--rounds R] NAME=DIR ...`:
the warm reset of several source trees of bdbexport, side by side in one run.

A ratio measured hours apart compares two machines as much as two programs (the bare
baseline moved by 40 % between two quiet runs of one day). This serves each tree
(`DIR` holds a `bdbexport/` package, e.g. made by
`git archive REV domain adapters composition entrypoints | tar -x -C DIR/bdbexport`,
and is put first on `PYTHONPATH`; an empty `DIR` is the installed tree) next to the bare
app, on the same store kind, and measures them in alternating rounds: the ratios of one
table come from one machine state. docs/performance.md uses it for issue 12's condition
(the reset ratio before and after the hardening).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .http_and_stores import ADMIN, memory_bootstrap
from .processes import Process, basic, start_bare, start_bdbexport, start_redis, wrk


def _store_of(kind: str, workdir: Path, name: str, redis_port: int | None) -> tuple[str, list[str]]:
    if kind == "memory":
        return "memory://", ["--bootstrap", str(memory_bootstrap(workdir))]
    if kind == "sqlite":
        return f"sqlite://{workdir / 'store.sqlite3'}", []
    return f"redis://127.0.0.1:{redis_port}/0?prefix={name}:", []


def _seed(store: str, env: dict[str, str]) -> None:
    """One admin and bdb 1, written by the tree itself (its own schema)."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parents[1])!r});"
        f" from benchmarks.http_and_stores import seed; seed({store!r}, 1)"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trees")
    parser.add_argument("store", choices=["memory", "sqlite", "redis"])
    parser.add_argument("trees", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (-t)")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bdbexport-trees-"))
    servers: dict[str, tuple[Process, str]] = {}
    redis: Process | None = None
    redis_port: int | None = None
    try:
        servers["bare"] = start_bare(work)
        if options.store == "redis":
            redis, redis_port = start_redis(work)
        for spec in options.trees:
            name, _, tree = spec.partition("=")
            workdir = work / name
            workdir.mkdir()
            store, extra = _store_of(options.store, workdir, name, redis_port)
            env = {**os.environ, "PYTHONPATH": tree} if tree else dict(os.environ)
            if options.store != "memory":
                _seed(store, env)
            servers[name] = start_bdbexport(
                workdir, store, "--exporter", "simulated", *extra, pythonpath=tree or None
            )
        rates: dict[str, list[float]] = {name: [] for name in servers}
        p99s: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(options.rounds):
            for name, (_, url) in servers.items():
                result = wrk(
                    url,
                    seconds=options.seconds,
                    authorization=None if name == "bare" else basic(*ADMIN),
                    threads=options.threads,
                    workdir=work,
                )
                rates[name].append(result.rps)
                p99s[name].append(result.p99_ms)
    finally:
        for server, _ in servers.values():
            server.stop()
        if redis is not None:
            redis.stop()
    bare = statistics.median(rates["bare"])
    print(
        f"store {options.store}, wrk -t{options.threads} -c32, {options.seconds:g} s x"
        f" {options.rounds} rounds, load average {os.getloadavg()[0]:.2f}"
    )
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"{name:12s} {median:9.0f} req/s  ratio {median / bare:.3f}"
            f"  p99 {statistics.median(p99s[name]):6.2f} ms  rounds {[round(v) for v in values]}"
        )


if __name__ == "__main__":
    main()
