"""Which hosts an export may connect to: the egress policy of remote destinations
(FTP today, every remote location type to come).

Without it, whoever may start an export could make the server connect anywhere it can
reach: its own loopback services (a Redis, an admin port), cloud metadata on a
link-local address, the store itself. So these are refused by default: loopback,
link-local, unspecified and multicast addresses, every cloud metadata address in use
and the shared or reserved ranges they live in (`METADATA_NETWORKS`, `METADATA_NAMES`:
AWS `169.254.169.254` and `fd00:ec2::254`, Alibaba `100.100.100.200` in the
shared-address space `100.64.0.0/10`, GCP `metadata.google.internal` and
`fd20:ce::254`, Azure's `168.63.129.16`, Oracle's `192.0.0.192`; an IPv4 address
written inside NAT64's `64:ff9b::/96` is judged as that IPv4 address), and every
address of the store's own host. `allow` (the server's `--allow-egress`, repeatable)
names hosts or networks that are permitted even so: an IP address, a CIDR network, or
a host name (matched as written, case-insensitively).

A connection that fails is told to the caller in the same words whatever the cause
(`connect_failure`): refused, unreachable and timed out are not told apart, or the
failure details would map which hosts and ports exist behind the server (a blind
port scan). The cause goes to the server's log, for its operator.

A name is resolved once and the connection goes to an address that passed the check,
never to a second resolution (DNS rebinding cannot swap in a refused address between
the check and the connect).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from bdbexport.domain.errors import EgressNotAllowedError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


log = logging.getLogger("bdbexport.egress")

METADATA_NETWORKS: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # RFC 6598 shared address space: Alibaba's 100.100.100.200
        "168.63.129.16/32",  # Azure's platform endpoint (WireServer)
        "192.0.0.0/24",  # IETF protocol assignments: Oracle Cloud's 192.0.0.192
        "fd00:ec2::/48",  # AWS over IPv6: metadata fd00:ec2::254, DNS, NTP
        "fd20:ce::/48",  # GCP over IPv6: metadata fd20:ce::254
    )
)
"""Refused by default besides the address classes (link-local holds 169.254.169.254,
the IPv4 metadata address of AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack...)."""

METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
"""Names of metadata services, refused as written (before any resolution)."""

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _plain(address: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) or one in NAT64's well-known
    prefix (`64:ff9b::a9fe:a9fe`) judged as the IPv4 it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _name(host: str) -> str:
    return host.lower().rstrip(".")


def connect_failure(host: str, port: int) -> str:
    """The one phrasing of a connection that could not be made, for every caller-facing
    detail (FTP, replication, imports): the same words whether it was refused,
    unreachable or timed out, so a failure maps no host or port."""
    return f"cannot connect to {host}:{port} (refused, unreachable or no answer)"


class ConnectFailedError(OSError):
    """No connection could be made; its message is `connect_failure`'s."""


def _literal(host: str) -> IpAddress | None:
    try:
        return _plain(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def refused_by_default(address: IpAddress) -> bool:
    address = _plain(address)
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or any(address in network for network in METADATA_NETWORKS)
    )


def addresses_of(host: str) -> frozenset[IpAddress]:
    """Every address `host` resolves to now (none if it does not resolve)."""
    literal = _literal(host)
    if literal is not None:
        return frozenset({literal})
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return frozenset()
    return frozenset(_plain(ipaddress.ip_address(info[4][0])) for info in found)


@dataclass(frozen=True)
class EgressPolicy:
    allowed_networks: tuple[IpNetwork, ...] = ()
    allowed_names: frozenset[str] = frozenset()
    refused: frozenset[IpAddress] = field(default_factory=frozenset)
    """Addresses refused besides the default classes: the store's own host."""

    @classmethod
    def build(cls, allow: Iterable[str] = (), store_hosts: Iterable[str] = ()) -> EgressPolicy:
        """From `--allow-egress` entries and the store's host names; `ValueError` for
        an entry that is neither an address, a network nor a host name."""
        networks: list[IpNetwork] = []
        names: set[str] = set()
        for entry in allow:
            text = entry.strip()
            if not text:
                raise ValueError("an --allow-egress entry is empty")
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                name = text.lower().rstrip(".")
                if "/" in name or not all(part for part in name.split(".")):
                    raise ValueError(
                        f"--allow-egress {entry!r} is neither an address, a network (CIDR)"
                        " nor a host name"
                    ) from None
                names.add(name)
        refused: set[IpAddress] = set()
        for host in store_hosts:
            refused |= addresses_of(host)
        return cls(tuple(networks), frozenset(names), frozenset(refused))

    def _allowed_explicitly(self, host: str, address: IpAddress) -> bool:
        if _name(host) in self.allowed_names:
            return True
        return any(address in network for network in self.allowed_networks)

    def permits(self, host: str, address: IpAddress) -> bool:
        address = _plain(address)
        if self._allowed_explicitly(host, address):
            return True
        if _name(host) in METADATA_NAMES:
            return False
        return not refused_by_default(address) and address not in self.refused

    def check_host(self, host: str) -> None:
        """The check that needs no name resolution, for a request being accepted: an
        address literal or `localhost` the policy refuses is `EgressNotAllowedError`.
        Other names are judged when the export connects (`connect`)."""
        literal = _literal(host)
        if literal is None and _name(host) in {"localhost", "localhost.localdomain"}:
            literal = ipaddress.ip_address("127.0.0.1")
        if literal is None and _name(host) in METADATA_NAMES:
            literal = ipaddress.ip_address("169.254.169.254")
        if literal is not None and not self.permits(host, literal):
            raise EgressNotAllowedError()

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to `host`:`port` at an address the policy permits, within
        `timeout` seconds per attempt. `EgressNotAllowedError` if every address the
        name resolves to is refused; `ConnectFailedError` if none could be reached."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            log.info("egress: cannot resolve %s: %s", host, error)
            raise ConnectFailedError(f"cannot resolve {host}") from error
        permitted = [info for info in found if self.permits(host, ipaddress.ip_address(info[4][0]))]
        if not permitted:
            raise EgressNotAllowedError()
        last: OSError | None = None
        for family, kind, protocol, _, address in permitted:
            connection = socket.socket(family, kind, protocol)
            try:
                connection.settimeout(timeout)
                connection.connect(address)
            except OSError as error:
                connection.close()
                last = error
                continue
            return connection
        assert last is not None
        log.info("egress: cannot connect to %s:%s: %s", host, port, last)
        raise ConnectFailedError(connect_failure(host, port)) from last


OPEN = EgressPolicy(
    allowed_networks=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
)
"""Every address allowed: for embedders and tests that need no policy."""
