"""`python -m benchmarks.servers [--seconds S] [--rounds R] [--store URL]`: the server spike.

Bare Starlette and our app, each on uvicorn (uvloop, httptools) and on granian (one
worker, uvloop), plus `bdbexport serve` as it ships, measured in one run by wrk
(`-t1 -c32`, the seed's reset with Basic auth) in alternating rounds: on a shared
machine a neighbour's burst then lands on every server alike, and the spread of the
rounds says how much a figure moved. The ratios are against the bare floors of the
same run (docs/performance.md: the choice of the server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from .http_and_stores import AUTH, memory_bootstrap
from .processes import (
    Process,
    free_port,
    start_bdbexport,
    uvicorn_options,
    wait_http,
    wrk,
)


def uvicorn_process(
    target: str, workdir: Path, name: str, env: dict[str, str]
) -> tuple[Process, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", *uvicorn_options()]
    if target.endswith(":app") and "served_app" in target:
        command.append("--factory")
    process = Process(command, log=workdir / f"{name}.log", env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url, process.popen)
    return process, url


def granian_process(
    target: str, workdir: Path, name: str, env: dict[str, str]
) -> tuple[Process, str]:
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
    command += ["--workers", "1", "--runtime-threads", "1", "--http", "1", "--no-ws"]
    command += ["--loop", "uvloop", "--log-level", "warning", target]
    if "served_app" in target:
        command.insert(-1, "--factory")
    process = Process(command, log=workdir / f"{name}.log", env=env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url, process.popen)
    return process, url


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", default="memory://")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bdbexport-servers-"))
    bootstrap = memory_bootstrap(workdir)
    env = {
        "BDBEXPORT_BENCH_STORE": options.store,
        "BDBEXPORT_BENCH_BOOTSTRAP": str(bootstrap),
        "BDBEXPORT_BENCH_LOGS": str(workdir),
    }
    started: dict[str, tuple[Process, str]] = {}
    try:
        started["bare, uvicorn"] = uvicorn_process("benchmarks.bare_app:app", workdir, "bu", env)
        started["bare, granian"] = granian_process("benchmarks.bare_app:app", workdir, "bg", env)
        started["serve (this tree)"] = start_bdbexport(
            workdir, options.store, "--bootstrap", str(bootstrap), "--exporter", "simulated"
        )
        started["app, uvicorn"] = uvicorn_process("benchmarks.served_app:app", workdir, "au", env)
        started["app, granian"] = granian_process("benchmarks.served_app:app", workdir, "ag", env)
        rps: dict[str, list[float]] = {name: [] for name in started}
        p99: dict[str, list[float]] = {name: [] for name in started}
        for _ in range(options.rounds):
            for name, (_, url) in started.items():
                auth = None if name.startswith("bare") else AUTH
                result = wrk(url, seconds=options.seconds, authorization=auth, workdir=workdir)
                rps[name].append(result.rps)
                p99[name].append(result.p99_ms)
    finally:
        for process, _ in started.values():
            process.stop()
    print(
        f"wrk -t1 -c32, {options.seconds} s x {options.rounds} alternating rounds,"
        f" store {options.store}, load average {os.getloadavg()[0]:.2f}"
    )
    floors = {s: statistics.median(rps[f"bare, {s}"]) for s in ("uvicorn", "granian")}
    fastest = max(floors.values())
    print("| server | req/s (median) | rounds | p99 ms | / bare uvicorn | / fastest bare |")
    print("|---|---:|---|---:|---:|---:|")
    for name in started:
        median = statistics.median(rps[name])
        rounds = ", ".join(f"{v:.0f}" for v in rps[name])
        print(
            f"| {name} | {median:.0f} | {rounds} | {statistics.median(p99[name]):.2f} |"
            f" {median / floors['uvicorn']:.2f} | {median / fastest:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
