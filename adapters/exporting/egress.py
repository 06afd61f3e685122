"""Which hosts an export may connect to: the egress policy of remote destinations
(FTP today, every remote location type to come).

Without it, whoever may start an export could make the server connect anywhere it can
reach: its own loopback services (a Redis, an admin port), cloud metadata on a
link-local address, the store itself. So these are refused by default: loopback,
link-local, unspecified and multicast addresses, and every address of the store's own
host. `allow` (the server's `--allow-egress`, repeatable) names hosts or networks that
are permitted even so: an IP address, a CIDR network, or a host name (matched as
written, case-insensitively).

A name is resolved once and the connection goes to an address that passed the check,
never to a second resolution (DNS rebinding cannot swap in a refused address between
the check and the connect).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from bdbexport.domain.errors import EgressNotAllowedError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _plain(address: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) judged as the IPv4 it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


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
        if host.lower().rstrip(".") in self.allowed_names:
            return True
        return any(address in network for network in self.allowed_networks)

    def permits(self, host: str, address: IpAddress) -> bool:
        address = _plain(address)
        if self._allowed_explicitly(host, address):
            return True
        return not refused_by_default(address) and address not in self.refused

    def check_host(self, host: str) -> None:
        """The check that needs no name resolution, for a request being accepted: an
        address literal or `localhost` the policy refuses is `EgressNotAllowedError`.
        Other names are judged when the export connects (`connect`)."""
        literal = _literal(host)
        if literal is None and host.lower().rstrip(".") in {"localhost", "localhost.localdomain"}:
            literal = ipaddress.ip_address("127.0.0.1")
        if literal is not None and not self.permits(host, literal):
            raise EgressNotAllowedError()

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to `host`:`port` at an address the policy permits, within
        `timeout` seconds per attempt. `EgressNotAllowedError` if every address the
        name resolves to is refused; `OSError` if none could be reached."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise OSError(f"cannot resolve {host}: {error}") from error
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
        raise last


OPEN = EgressPolicy(
    allowed_networks=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
)
"""Every address allowed: for embedders and tests that need no policy."""
