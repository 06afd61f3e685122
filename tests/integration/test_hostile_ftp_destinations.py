"""FTP destinations that try to hold an export's worker: an endless multi-line reply,
a hang-up after USER, a cancel while the server stalls. Real sockets; every call is
bounded, so a regression fails instead of hanging (docs/exports.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from bdbexport.adapters.exporting.egress import OPEN
from bdbexport.adapters.exporting.ftp_sink import FtpSink
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import UrlLocation
from bdbexport.domain.statuses import ExportFailureReason
from tests.support.bounded import within
from tests.support.scripted_ftp import (
    ScriptedFtpServer,
    endless_multiline,
    hang_up_after_user,
    trickle,
)

BOUND = 20.0


class CancelledError(Exception):
    """What the worker's progress raises once the export is cancelled."""


def unless(cancelled: threading.Event) -> None:
    if cancelled.is_set():
        raise CancelledError()


def sink_to(ftp: ScriptedFtpServer, timeout: float, waiting: Callable[[], None]) -> object:
    return FtpSink(
        UrlLocation(url=ftp.url("/")), "db.rdb", egress=OPEN, timeout=timeout, waiting=waiting
    )


def test_an_endless_multi_line_reply_is_bounded_as_a_whole() -> None:
    """`220-still here N` once every 0.2 s: each line used to get a fresh deadline."""
    with ScriptedFtpServer(endless_multiline(0.2)) as ftp:
        raised = within(BOUND, lambda: sink_to(ftp, 1.5, lambda: None))
        assert ftp.wait_for(lambda: ftp.open == 0, 5), "the connection was left open"
    assert isinstance(raised, ExportFailedError), repr(raised)
    assert raised.reason is ExportFailureReason.GENERAL_ERROR
    assert "no complete reply from the FTP server within 1.5s" in (raised.detail or "")


def test_a_cancel_closes_the_connection_to_a_stalled_server_promptly() -> None:
    """A long timeout: the cancel (the progress poke raising) ends the wait, and the
    sink lets go of the socket."""
    for behaviour in (endless_multiline(0.1), trickle(0.3)):
        cancelled = threading.Event()
        with ScriptedFtpServer(behaviour) as ftp:
            threading.Timer(0.5, cancelled.set).start()
            raised = within(BOUND, partial(sink_to, ftp, 600, partial(unless, cancelled)))
            assert ftp.wait_for(lambda: ftp.open == 0, 5), "the connection was left open"
        assert isinstance(raised, CancelledError), repr(raised)


def test_a_server_that_hangs_up_after_user_fails_with_a_detail() -> None:
    with ScriptedFtpServer(hang_up_after_user) as ftp:
        raised = within(BOUND, lambda: sink_to(ftp, 5, lambda: None))
    assert isinstance(raised, ExportFailedError), repr(raised)
    assert raised.reason is ExportFailureReason.GENERAL_ERROR
    assert raised.detail == (
        f"FTP login to 127.0.0.1:{ftp.port} failed: the FTP server closed the connection"
    )
