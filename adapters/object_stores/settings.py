"""What the remote adapters are given by the composition root: the cluster's endpoints
(Redis Software's `s3_url` and `s3_ca_cert`; ours for the other providers), the bounds
of every network call, and the egress policy."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Egress(Protocol):
    """The server's egress policy (`adapters/exporting/egress.py`'s `EgressPolicy` is
    one): which addresses may be connected to, and a connection made only to those."""

    def permits(self, host: str, address: IpAddress) -> bool: ...

    def connect(self, host: str, port: int, timeout: float) -> socket.socket: ...


@dataclass(frozen=True)
class RemoteSettings:
    """Endpoints and bounds; every endpoint `None` means the provider's own."""

    s3_url: str | None = None
    """An S3-compatible store for every `s3` location (path-style addressing)."""
    s3_ca_cert: str | None = None
    """PEM of the CA that signed `s3_url`'s certificate."""
    gs_url: str | None = None
    """In place of Google's endpoint, e.g. `http://127.0.0.1:4443` (fake-gcs-server)."""
    abs_url: str | None = None
    """The Blob service endpoint, account included, e.g. Azurite's
    `http://127.0.0.1:10000/devstoreaccount1`."""
    sftp_known_hosts: Path | None = None
    """OpenSSH `known_hosts`: SFTP host keys are checked against it."""
    timeout: float = 60.0
    """Each network call's bound (the server's `--export-timeout`)."""
    retries: int = 3
    """Transient failures (throttling, 5xx, resets) retried this often, backing off."""
    part_size: int = 16 * 1024 * 1024
    """Multipart part size: 10,000 parts (S3's limit) of 16 MiB is 160 GiB."""
    concurrency: int = 2
    """Parts in flight at once: with `part_size`, the bound of the memory a transfer
    holds (32 MiB by default)."""
