"""The log sinks module offers one name per sink: a former alias left behind keeps a
second spelling alive that docs and callers drift onto."""

from __future__ import annotations

from bdbexport.composition import log_sinks


def test_the_former_periodic_flush_alias_is_gone() -> None:
    assert not hasattr(log_sinks, "PeriodicFlush")
    assert log_sinks.NonBlockingSink.__name__ == "NonBlockingSink"
