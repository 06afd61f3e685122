"""Running a call that may block forever, for a bounded time: the hostile-peer tests'
way to show a fix (without it the call ran for minutes, or never returned)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """Run `call` in a thread; what it raised (None if nothing). Fails the test if it
    has not returned after `seconds`."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # handed to the test
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds}s"
    return raised[0] if raised else None
