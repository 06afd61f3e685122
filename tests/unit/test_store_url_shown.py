"""The store URL `serve` prints at start never shows a password (issue 27, 6)."""

from __future__ import annotations

import pytest

from bdbexport.entrypoints.server import without_password


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@cache.internal:6379/0", "redis://:***@cache.internal:6379/0"),
        ("rediss://app:s3cret@[::1]:6380/2?prefix=x:", "rediss://app:***@[::1]:6380/2?prefix=x:"),
        ("redis://cache.internal:6379/0", "redis://cache.internal:6379/0"),
        ("sqlite:///var/lib/bdbexport/store.sqlite3", "sqlite:///var/lib/bdbexport/store.sqlite3"),
        ("memory://", "memory://"),
    ],
)
def test_the_password_of_a_store_url_is_masked(url: str, shown: str) -> None:
    assert without_password(url) == shown
    assert "s3cret" not in without_password(url)
