"""The egress policy's default refusals: cloud metadata in every spelling (issue 22, 8)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from bdbexport.adapters.exporting.egress import (
    ConnectFailedError,
    EgressPolicy,
    connect_failure,
)
from bdbexport.domain.errors import EgressNotAllowedError

REFUSED = [
    "169.254.169.254",
    "fd00:ec2::254",
    "fd00:ec2::253",
    "100.100.100.200",
    "100.64.0.1",
    "100.127.255.254",
    "fd20:ce::254",
    "168.63.129.16",
    "192.0.0.192",
    "::ffff:100.100.100.200",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
]
PERMITTED = ["192.0.2.10", "100.128.0.1", "100.63.255.255", "2001:db8::1", "fd00:ec3::254"]


@pytest.mark.parametrize("address", REFUSED)
def test_metadata_addresses_and_their_ranges_are_refused_by_default(address: str) -> None:
    policy = EgressPolicy.build()
    assert not policy.permits("host", ipaddress.ip_address(address))
    with pytest.raises(EgressNotAllowedError):
        policy.check_host(address)


@pytest.mark.parametrize("address", PERMITTED)
def test_ordinary_addresses_next_to_them_are_permitted(address: str) -> None:
    assert EgressPolicy.build().permits("host", ipaddress.ip_address(address))


@pytest.mark.parametrize("name", ["metadata.google.internal", "Metadata.Goog.", "metadata"])
def test_metadata_names_are_refused_as_written_whatever_they_resolve_to(name: str) -> None:
    policy = EgressPolicy.build()
    with pytest.raises(EgressNotAllowedError):
        policy.check_host(name)
    assert not policy.permits(name, ipaddress.ip_address("192.0.2.10"))


def test_an_explicit_allowance_still_wins() -> None:
    policy = EgressPolicy.build(["100.100.100.200", "fd00:ec2::/48"])
    assert policy.permits("host", ipaddress.ip_address("100.100.100.200"))
    assert policy.permits("host", ipaddress.ip_address("fd00:ec2::254"))


def test_a_refused_connection_is_told_in_the_words_of_every_other_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailedError) as failed:
        EgressPolicy.build(["127.0.0.1"]).connect("127.0.0.1", port, timeout=2)
    assert str(failed.value) == connect_failure("127.0.0.1", port)
    assert "Connection refused" not in str(failed.value)
