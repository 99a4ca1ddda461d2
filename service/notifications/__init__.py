"""Telling people about things: in-app notifications (and, when SMTP is configured, e-mail).

`notify` is called inside the use case's transaction, so a notification exists exactly when the change
that caused it was committed. E-mail is sent afterwards by the worker from the rows not yet e-mailed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import clock
from ..models import Notification


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    case_id: int | None = None,
    url: str | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Create one notification per user (skipping users who already got this `dedupe_key`)."""
    users = sorted(set(user_ids))
    if dedupe_key and users:
        already = set(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.dedupe_key == dedupe_key, Notification.user_id.in_(users)
                )
            )
        )
        users = [u for u in users if u not in already]
    now = clock.now()
    created = [
        Notification(user_id=u, kind=kind, title=title[:255], body=body, case_id=case_id, url=url,
                     created_at=now, dedupe_key=dedupe_key)
        for u in users
    ]
    session.add_all(created)
    return created


def unread(session: Session, user_id: int, limit: int = 50) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user_id: int, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given); returns how many."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    return session.execute(query.values(read_at=clock.now())).rowcount
