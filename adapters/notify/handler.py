"""The notification handler: announces how an action ended, when its starter asked.

Subscribed to the end events (`ActionSucceeded`, `ActionFailed`) of the event bus: a
side effect of a committed change, not a step of the use case or of the worker, so
an export that ends through a lease expiry or a cancel is announced the same way.
What happened to the message (sent, not sent and why) is published back as an event,
so it lands in the audit log.

The event is published on whatever thread committed the change, the server's event
loop among them (a lease found lapsed by a request). Reading the bdb's name from the
store and talking to the mail server there would stall every request for as long as
the SMTP server takes (up to its timeout). So `__call__` only decides whether a message
is due and queues it; one thread of the handler's own reads, sends and publishes the
outcome. The thread starts when a message is queued and ends once the queue is empty;
it is not a daemon, so a message queued before shutdown is still sent (each send is
bounded by the notifier's timeout).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.events import (
    WORKER_ACTOR,
    ActionFailed,
    ActionSucceeded,
    LifecycleEvent,
    NotificationNotSent,
    NotificationSent,
)
from bdbexport.domain.ports import EventPublisher, Notifier


class NotificationHandler:
    def __init__(
        self,
        notifier: Notifier | None,
        *,
        publish: EventPublisher,
        lookup: Callable[[int], Bdb | None],
    ) -> None:
        self._notifier = notifier
        self._publish = publish
        self._lookup = lookup
        self._queue: deque[ActionSucceeded | ActionFailed] = deque()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def __call__(self, event: ActionSucceeded | ActionFailed) -> None:
        if not event.email_notification or event.uid is None:
            return
        if self._notifier is None:  # nothing to read or send: said at once
            self._not_sent(event, "email_notification was asked, but no notifier is configured")
            return
        with self._lock:
            self._queue.append(event)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._drain, name="bdbexport-notify", daemon=False
                )
                self._worker.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued message was handled; False on timeout."""
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                event = self._queue.popleft()
            try:
                self._announce(event)
            except Exception as error:  # a lookup that failed: said in the audit log
                self._not_sent(event, f"{type(error).__name__}: {error}")

    def _announce(self, event: ActionSucceeded | ActionFailed) -> None:
        assert event.uid is not None
        bdb = self._lookup(event.uid)
        name = "gone" if bdb is None else bdb.name
        outcome = f"failed ({event.reason})" if isinstance(event, ActionFailed) else "succeeded"
        subject = f"{event.kind.value.capitalize()} of database {event.uid} ({name}) {outcome}"
        assert self._notifier is not None
        detail = event.detail if isinstance(event, ActionFailed) else ""
        body = f"{subject}.\nAction: {event.action_uid}\n" + (
            f"Detail: {detail}\n" if detail else ""
        )
        try:
            self._notifier.notify(subject, body)
        except OSError as error:
            self._not_sent(event, str(error))
            return
        self._publish.publish(
            NotificationSent(
                actor=WORKER_ACTOR,
                uid=event.uid,
                at=event.at,
                kind=event.kind,
                action_uid=event.action_uid,
                subject=subject,
            )
        )

    def _not_sent(self, event: LifecycleEvent, detail: str) -> None:
        self._publish.publish(
            NotificationNotSent(
                actor=WORKER_ACTOR,
                uid=event.uid,
                at=event.at,
                kind=event.kind,
                action_uid=event.action_uid,
                detail=detail,
            )
        )
