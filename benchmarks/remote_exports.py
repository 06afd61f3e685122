"""Exports to the remote location types (issue 26.10): a live redis-server's snapshot
streamed to S3 (moto), Azure Blob Storage (Azurite) and SFTP (OpenSSH), each against the
floor measured in the same run — the slower of `redis-cli --rdb` to a local file and the
same bytes uploaded from that file by the same library — and the peak RSS growth of the
process running the transfer (a child of its own, so the figure is the transfer's).

About 64 MB in `--quick` (CI), 1 GB in a full run. The servers are the test servers
(tests/support/object_stores.py), on loopback; `python -m benchmarks.remote_exports
child JSON` is the measured child.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from .processes import ROOT
from .report import Report, Row

TARGET_RATIO = 0.8
TARGET_RSS_MB = 64.0


def _fill(port: int, megabytes: int) -> None:
    client = redis.Redis(port=port)
    value = os.urandom(1024 * 1024)
    pipe = client.pipeline(transaction=False)
    for index in range(megabytes):
        pipe.set(f"blob:{index}", value[index % 1024 :] + value[: index % 1024])
        if index % 32 == 31:
            pipe.execute()
    pipe.execute()


def _redis_cli_rdb(port: int, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["redis-cli", "-p", str(port), "--rdb", str(path)], check=True, capture_output=True
    )
    return time.perf_counter() - started


def _peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM): per address space, so a child's
    starts afresh at exec (getrusage's ru_maxrss keeps the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(spec: dict[str, Any]) -> dict[str, float]:
    """In the measured child: the floor upload of `file` (if given) or the export."""
    from pydantic import TypeAdapter

    from bdbexport.adapters.exporting.egress import EgressPolicy
    from bdbexport.adapters.exporting.export_roots import ExportRoots
    from bdbexport.adapters.exporting.rdb_exporter import RdbExporter
    from bdbexport.adapters.object_stores.remote import RemoteLocations
    from bdbexport.adapters.object_stores.settings import RemoteSettings
    from bdbexport.domain.bdb import Bdb, Endpoint
    from bdbexport.domain.locations import ExportLocation

    settings = RemoteSettings(**spec["settings"])
    egress = EgressPolicy.build(["127.0.0.1"])
    remote = RemoteLocations(settings, egress)
    location: ExportLocation = TypeAdapter(ExportLocation).validate_python(spec["location"])
    before = _peak_rss_kb()
    started = time.perf_counter()
    if spec.get("file"):
        sink = remote.sink(location, f"floor-{os.getpid()}.rdb")
        with open(spec["file"], "rb") as source:
            while chunk := source.read(1024 * 1024):
                sink.write(chunk)
        sink.commit()
    else:
        exporter = RdbExporter(
            roots=ExportRoots([tempfile.gettempdir()]), egress=egress, remote=remote
        )
        bdb = Bdb(
            uid=1,
            name="bench",
            endpoints=(Endpoint(addr=("127.0.0.1",), port=spec["port"]),),
            action_uid=f"bench-{os.getpid()}",
        )
        exporter.export(bdb, location, lambda _: None)
    seconds = time.perf_counter() - started
    after = _peak_rss_kb()
    return {"seconds": seconds, "rss_growth_mb": (after - before) / 1024}


def _measure(spec: dict[str, Any]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.remote_exports", "child", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(report: Report, *, quick: bool) -> None:
    from tests.support.object_stores import Azurite, MotoS3, OpenSshSftp
    from tests.support.redis_server import RedisServer

    megabytes = 64 if quick else 1024
    with tempfile.TemporaryDirectory(prefix="bdbexport-remote-bench-") as work:
        directory = Path(work)
        source = RedisServer(directory / "redis").start()
        moto, azurite = MotoS3(directory / "moto"), Azurite(directory / "azurite")
        sshd = OpenSshSftp(directory / "sshd")
        try:
            _fill(source.port, megabytes)
            local = directory / "local.rdb"
            rdb_seconds = _redis_cli_rdb(source.port, local)
            size_mb = local.stat().st_size / 1024 / 1024
            moto.start()
            azurite.start()
            sshd.start()
            (sshd.account.root / "bench").mkdir()
            targets = {
                "s3": (
                    {"s3_url": moto.account.endpoint},
                    {
                        "type": "s3",
                        "bucket_name": moto.account.bucket,
                        "subdir": "bench",
                        "access_key_id": moto.account.access_key_id,
                        "secret_access_key": moto.account.secret_access_key,
                    },
                ),
                "abs": (
                    {"abs_url": azurite.account.endpoint},
                    {
                        "type": "abs",
                        "container": azurite.account.container,
                        "subdir": "bench",
                        "account_name": azurite.account.account_name,
                        "account_key": azurite.account.account_key,
                    },
                ),
                "sftp": (
                    {"sftp_known_hosts": str(sshd.account.known_hosts)},
                    {
                        "type": "sftp",
                        "sftp_url": sshd.account.url("bench/"),
                        "key": sshd.account.key_path.read_text(),
                    },
                ),
            }
            for kind, (settings, location) in targets.items():
                spec = {"settings": settings, "location": location, "port": source.port}
                floor = _measure({**spec, "file": str(local)})
                ours = _measure(spec)
                slower = max(floor["seconds"], rdb_seconds)
                report.ratio_at_least(
                    f"export to {kind} ({size_mb:,.0f} MB), throughput",
                    size_mb / ours["seconds"],
                    "MB/s",
                    size_mb / slower,
                    "floor: slower of redis-cli --rdb and the upload of the file",
                    TARGET_RATIO,
                )
                growth = ours["rss_growth_mb"]
                report.add(
                    Row(
                        f"export to {kind}: peak RSS growth of the transferring process",
                        growth,
                        "MB",
                        target=f"≤ {TARGET_RSS_MB:g} MB",
                        met=growth <= TARGET_RSS_MB,
                    )
                )
        finally:
            for server in (sshd, azurite, moto):
                server.stop()
            source.stop()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(_child(json.loads(sys.argv[2]))))
    else:
        print("usage: python -m benchmarks.remote_exports child SPEC", file=sys.stderr)
        sys.exit(2)
