"""What a request's thread (the event loop) never waits on, part by part: a log file
whose writes hang, a mail server that does not answer, a location check whose file
system hangs (injected through the `check_location` port; the same with a real hung
FUSE mount and a real server is tests/e2e/test_hung_export_root.py)."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import UTC, datetime

import httpx
import pytest

from bdbexport.adapters.memory import InMemoryEventLog
from bdbexport.adapters.memory.login_attempts import AsyncInMemoryLoginAttempts
from bdbexport.adapters.notify import NotificationHandler
from bdbexport.composition import bootstrap
from bdbexport.composition.bootstrap_file import BootstrapDocument, apply_bootstrap
from bdbexport.composition.http_app import build_http_app
from bdbexport.composition.log_sinks import NonBlockingSink
from bdbexport.composition.stores import open_store
from bdbexport.domain import Bdb
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.events import ActionSucceeded, NotificationSent
from bdbexport.domain.locations import ExportLocation
from tests.support.http import ADMIN, known_users

WAIT = 30.0
"""Generous: how long a test waits for a thread that should finish at once."""


class HungStream(io.StringIO):
    """A file whose writes block until released (a hung disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait()
        return super().write(text)


def test_a_log_write_returns_while_the_file_hangs() -> None:
    stream = HungStream()
    sink = NonBlockingSink(stream, interval=0.01, max_buffered=100)
    sink.write("first\n")
    assert stream.entered.wait(WAIT)  # the flush thread is stuck in the file's write
    done = threading.Event()

    def writer() -> None:
        for number in range(50):
            sink.write(f"line {number}\n")
        done.set()

    threading.Thread(target=writer, daemon=True).start()
    assert done.wait(WAIT), "a write waited on the hung file"
    assert sink.dropped > 0  # the buffer's bound held; the rest was counted
    stream.release.set()
    sink.close()
    written = stream.getvalue()
    assert written.startswith("first\n")
    assert '"event": "LogLinesDropped"' in written


class SlowMail:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[str] = []

    def notify(self, subject: str, body: str) -> None:
        self.threads.append(threading.current_thread().name)
        self.release.wait()


def test_the_notification_handler_sends_on_its_own_thread() -> None:
    mail = SlowMail()
    events = InMemoryEventLog()
    looked_up: list[str] = []

    def lookup(uid: int) -> Bdb:
        looked_up.append(threading.current_thread().name)
        return Bdb(uid=uid, name="orders")

    handler = NotificationHandler(mail, publish=events, lookup=lookup)
    ended = ActionSucceeded(
        actor="worker",
        uid=1,
        at=datetime.now(UTC),
        kind=ActionKind.EXPORT,
        action_uid="export-1",
        email_notification=True,
    )
    handler(ended)  # returns although the mail server has not answered
    assert not handler.wait_idle(0.05)
    mail.release.set()
    assert handler.wait_idle(WAIT)
    assert looked_up == ["bdbexport-notify"]
    assert mail.threads == ["bdbexport-notify"]
    assert [type(event) for event in events] == [NotificationSent]


@pytest.mark.anyio
async def test_openapi_answers_while_a_location_check_hangs() -> None:
    store = open_store("memory://")
    apply_bootstrap(
        BootstrapDocument(users=known_users(), bdbs=(Bdb(uid=1, name="orders"),)), store
    )
    application = bootstrap(store, with_async=True, exporter="simulated")
    hung = threading.Event()
    release = threading.Event()

    def hanging_check(location: ExportLocation, kind: ActionKind) -> None:  # a stale mount
        hung.set()
        release.wait()

    application.check_location = hanging_check
    built = build_http_app(application, attempts=AsyncInMemoryLoginAttempts())
    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        pending = asyncio.ensure_future(
            client.post(
                "/v1/bdbs/1/actions/export?dry_run=true",
                json={"export_location": {"type": "mount_point", "path": "/stale"}},
                headers=ADMIN,
            )
        )
        while not hung.is_set():
            await asyncio.sleep(0.01)
        openapi = await asyncio.wait_for(client.get("/v1/openapi.json"), WAIT)
        assert openapi.status_code == 200
        assert not pending.done()
        release.set()
        answered = await asyncio.wait_for(pending, WAIT)
        assert answered.status_code == 200
        assert answered.json()["dry_run"] is True
    application.close()
