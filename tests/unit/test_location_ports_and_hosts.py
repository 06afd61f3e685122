"""FTP URL ports and hosts in the location model: a port is 1-65535 or absent (`:0`
used to become 21 silently, `:65536` to crash the worker later), and a host may be a
bracketed IPv6 literal (it used to be refused as malformed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bdbexport.domain.locations import (
    FTP_URL_PATTERN,
    SFTP_URL_PATTERN,
    SftpLocation,
    UrlLocation,
)
from tests.support.thoroughness import examples


@given(st.integers(min_value=1, max_value=65535))
def test_every_real_port_is_accepted(port: int) -> None:
    assert UrlLocation(url=f"ftp://u:p@ftp.example.com:{port}/dumps/").type == "url"


@given(st.integers(min_value=65536, max_value=99999) | st.just(0))
def test_a_port_outside_the_range_is_refused(port: int) -> None:
    with pytest.raises(ValidationError, match="port from 1 to 65535"):
        UrlLocation(url=f"ftp://u:p@ftp.example.com:{port}/dumps/")
    with pytest.raises(ValidationError, match="port from 1 to 65535"):
        SftpLocation(sftp_url=f"sftp://u@host.example.com:{port:05d}/x")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://u:p@[2001:db8::1]:21/x/",
        "ftps://[2001:db8::1]/x/",
        "ftp://u:p@[::ffff:192.0.2.1]/a.rdb",
        "ftp://[::1]:2121/",
    ],
)
def test_bracketed_ipv6_literals_are_hosts(url: str) -> None:
    assert UrlLocation(url=url).type == "url"


@pytest.mark.parametrize(
    "url", ["ftp://[1.2.3.4]/", "ftp://[2001:db8::zz]/", "ftp://[::1/", "ftp://[fe80::1%25eth0]/"]
)
def test_brackets_hold_only_an_ipv6_address(url: str) -> None:
    with pytest.raises(ValidationError):
        UrlLocation(url=url)


@settings(max_examples=examples(3))
@given(st.from_regex(FTP_URL_PATTERN, fullmatch=True))
def test_every_url_the_published_pattern_matches_is_accepted(url: str) -> None:
    """A client generating URLs from the JSON Schema is never refused: the port range
    and the IPv6 forms are in the pattern, not only in the validator."""
    assert UrlLocation(url=url).type == "url"


@settings(max_examples=examples(3))
@given(st.from_regex(SFTP_URL_PATTERN, fullmatch=True))
def test_every_sftp_url_the_published_pattern_matches_is_accepted(url: str) -> None:
    assert SftpLocation(sftp_url=url).type == "sftp"
