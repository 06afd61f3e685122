"""Scale-out: one replica on a Redis store against two replicas sharing it.

The load is split on the client side, the simplest loopback split there is: one wrk
per replica, half the connections each, run at the same moment; the aggregate is the
sum of their rates. Both runs reset random bdbs of one store, so every request is a
read and a compare-and-set on the shared Redis. The figure is the aggregate against
one replica carrying all the connections, measured in the same run; docs/performance.md
turns it and the per-request costs into a model of N replicas on N machines.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .http_and_stores import AUTH, seed
from .processes import Process, WrkResult, start_bdbexport, start_redis, wrk
from .report import Report

PATH = "/v1/bdbs/{uid}/actions/export_reset_status"
BDBS = 1_000


def _load(url: str, connections: int, seconds: int, workdir: Path) -> WrkResult:
    return wrk(
        url,
        seconds=seconds,
        authorization=AUTH,
        random_uid_up_to=BDBS,
        path=PATH,
        connections=connections,
        workdir=workdir,
    )


def _split(urls: list[str], connections: int, seconds: int, workdir: Path) -> list[WrkResult]:
    """One wrk per replica, all at once; each gets `connections / len(urls)`."""
    results: list[WrkResult | None] = [None] * len(urls)
    errors: list[BaseException] = []

    def drive(index: int, url: str) -> None:
        try:
            results[index] = _load(url, connections // len(urls), seconds, workdir)
        except BaseException as error:  # reported after the join, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=drive, args=(i, url)) for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [result for result in results if result is not None]


def run(report: Report, workdir: Path, *, seconds: int) -> None:
    redis_process, redis_port = start_redis(workdir)
    replicas: list[Process] = []
    try:
        store = f"redis://127.0.0.1:{redis_port}/0?prefix=scaleout:"
        seed(store, BDBS)
        first, first_url = start_bdbexport(workdir, store, "--exporter", "simulated")
        replicas.append(first)
        one = _load(first_url, 32, seconds, workdir)
        second, second_url = start_bdbexport(workdir, store, "--exporter", "simulated")
        replicas.append(second)
        _load(second_url, 2, 1, workdir)  # warm its credential cache and connections
        both = _split([first_url, second_url], 32, seconds, workdir)
    finally:
        for replica in replicas:
            replica.stop()
        redis_process.stop()
    aggregate = sum(result.rps for result in both)
    report.info("scale-out: one replica on Redis, 32 connections", one.rps, "req/s")
    report.ratio_at_least(
        "scale-out: two replicas on one Redis (2 cores in all)",
        aggregate,
        "req/s",
        one.rps,
        "one replica",
        1.3,
    )
