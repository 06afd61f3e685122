"""The notification handler: announces how an action ended, when its starter asked.

Subscribed to the end events (`ActionSucceeded`, `ActionFailed`) of the event bus: a
side effect of a committed change, not a step of the use case or of the worker, so
an export that ends through a lease expiry or a cancel is announced the same way.
What happened to the message (sent, not sent and why) is published back as an event,
so it lands in the audit log.
"""

from __future__ import annotations

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

    def __call__(self, event: ActionSucceeded | ActionFailed) -> None:
        if not event.email_notification or event.uid is None:
            return
        bdb = self._lookup(event.uid)
        name = "gone" if bdb is None else bdb.name
        outcome = f"failed ({event.reason})" if isinstance(event, ActionFailed) else "succeeded"
        subject = f"{event.kind.value.capitalize()} of database {event.uid} ({name}) {outcome}"
        if self._notifier is None:
            self._not_sent(event, "email_notification was asked, but no notifier is configured")
            return
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
