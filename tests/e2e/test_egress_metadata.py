"""Issue 22, finding 8: the egress policy refuses every cloud metadata address, and a
failed connection says the same thing whatever stopped it.

Against a real `bdbexport serve`: FTP export URLs naming a metadata service (AWS over
IPv4 and IPv6, Alibaba, GCP, Azure, Oracle, the shared-address space, NAT64 and
IPv4-mapped spellings) are 400 `egress_not_allowed` before anything connects. Then,
with those hosts explicitly allowed, a closed port (refused), an address with no route
and an address that never answers fail their exports with one and the same detail but
for the host and port: no blind port scan through the failure details. On today's
main `fd00:ec2::254` and `100.100.100.200` were accepted and connected to, and the
details said `Connection refused` or `No route to host`.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_real_exports import SourceRedis, bdb_on, export, serve, wait_end

pytestmark = pytest.mark.slow

METADATA_HOSTS = (
    "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack over IPv4
    "[fd00:ec2::254]",  # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "100.64.0.1",  # the shared-address space Alibaba's lives in
    "metadata.google.internal",  # GCP's name
    "metadata.goog",
    "[fd20:ce::254]",  # GCP over IPv6
    "168.63.129.16",  # Azure's platform endpoint
    "192.0.0.192",  # Oracle Cloud
    "[::ffff:100.100.100.200]",  # IPv4-mapped
    "[64:ff9b::a9fe:a9fe]",  # 169.254.169.254 through NAT64
)


@pytest.fixture
def source(tmp_path: Path) -> Any:
    server = SourceRedis(tmp_path / "source").start()
    yield server
    server.stop()


def test_every_cloud_metadata_address_is_refused_before_anything_connects(
    tmp_path: Path, source: SourceRedis
) -> None:
    (tmp_path / "exports").mkdir()
    with serve(tmp_path, [bdb_on(source.port)]).start() as server:
        for host in METADATA_HOSTS:
            refused = export(server, 1, {"type": "url", "url": f"ftp://u:p@{host}:21/"})
            assert refused.status_code == 400, (host, refused.text)
            assert refused.json()["error_code"] == "egress_not_allowed", (host, refused.text)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: a connection to it is refused


def test_refused_unreachable_and_silent_hosts_fail_with_the_same_detail(
    tmp_path: Path, source: SourceRedis
) -> None:
    (tmp_path / "exports").mkdir()
    refused_port = closed_port()
    targets = {
        "refused": ("127.0.0.1", refused_port),
        "no route": ("fd00:ec2::254", 21),  # no route to it on a machine outside AWS
        "silent": ("2001:db8::1", 21),  # documentation prefix: nothing answers
    }
    allow = [arg for host, _ in targets.values() for arg in ("--allow-egress", host)]
    details: dict[str, tuple[str, str]] = {}
    with serve(tmp_path, [bdb_on(source.port)], *allow, "--export-timeout", "2").start() as server:
        for kind, (host, port) in targets.items():
            shown = f"[{host}]" if ":" in host else host
            started = export(server, 1, {"type": "url", "url": f"ftp://u:p@{shown}:{port}/"})
            assert started.status_code == 200, (kind, started.text)
            bdb, _ = wait_end(server, 1)
            assert bdb["export_status"] == "failed", (kind, bdb)
            detail = bdb["export_failure_detail"]
            for spelled in (f"{shown}:{port}", f"{host}:{port}", shown, host):
                detail = detail.replace(spelled, "HOST")
            details[kind] = (bdb["export_failure_reason"], detail)
    print(f"\n{details}")
    assert len(set(details.values())) == 1, details
    ((_, detail),) = set(details.values())
    for cause in ("Connection refused", "No route to host", "timed out", "Errno"):
        assert cause not in detail, detail
