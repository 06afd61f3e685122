"""The throttle's `started`: the end of the wait for the source is reported at once, as
1 %, and only once (issue 27, 1)."""

from __future__ import annotations

from bdbexport.adapters.exporting.progress_throttle import ProgressThrottle


def test_started_reports_one_percent_at_once_and_once() -> None:
    reports: list[int] = []
    throttle = ProgressThrottle(reports.append, interval=3600, poll=3600)
    throttle.started()
    throttle.started()
    throttle.update(0.005)
    assert reports == [1]


def test_started_after_real_progress_changes_nothing() -> None:
    reports: list[int] = []
    throttle = ProgressThrottle(reports.append, interval=0, poll=3600)
    throttle.update(0.3)
    throttle.started()
    assert reports == [30]
