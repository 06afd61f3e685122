"""How hard property tests look, taken from the loaded hypothesis profile.

The profiles (`dev`, `ci`, `nightly`, in tests/conftest.py) hold the example counts. A
test that needs more or fewer examples than the profile's count says by how much
(`examples(3)`: three times the profile's), so `dev` stays quick and `nightly` looks
harder for it too, and CI's `ci` profile keeps the counts these tests always had.
"""

from __future__ import annotations

from hypothesis import settings


def examples(weight: float) -> int:
    """`weight` times the loaded profile's max_examples (at least one)."""
    return max(1, round(settings().max_examples * weight))
