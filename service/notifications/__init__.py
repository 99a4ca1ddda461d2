"""Telling people about things: in-app notifications (and, when SMTP is configured, e-mail).

`notify` is called inside the use case's transaction, so a notification exists exactly when the change
that caused it was committed. E-mail is sent afterwards by the worker from the rows not yet e-mailed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

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




def mark_read(session: Session, user_id: int, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given); returns how many."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    return session.execute(query.values(read_at=clock.now())).rowcount


# -- what tejun tells people about its work items ---------------------------------------------------------
def _people(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """user id -> locale, for active users among `user_ids`."""
    from ..models import User

    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.locale).where(User.id.in_(ids), User.active.is_(True)))
    return {user_id: locale for user_id, locale in rows}


def _per_locale(session: Session, user_ids: Iterable[int], **kwargs) -> list[Notification]:
    """One notification per user, its title and body in the user's own language."""
    from . import texts

    by_locale: dict[str, list[int]] = {}
    for user_id, locale in _people(session, user_ids).items():
        by_locale.setdefault(locale or "ja", []).append(user_id)
    created = []
    item, case_id, kind, dedupe = kwargs["item"], kwargs["case_id"], kwargs["kind"], kwargs.get("dedupe_key")
    for locale, users in by_locale.items():
        params = {
            "task": texts.task_title(item, locale),
            "case": item.case_reference,
            "case_title": item.case_title,
            "due": texts.jst(item.due_at),
            "holder": kwargs.get("holder") or texts.text(locale, texts.HOLDER_TEAM),
        }
        created += notify(
            session, user_ids=users, kind=kind, title=texts.text(locale, kwargs["title"], **params),
            body=texts.text(locale, kwargs["body"], **params), case_id=case_id, url=f"/tasks/{item.task_id}",
            dedupe_key=dedupe,
        )
    return created


def notify_assigned(session: Session, item, user_id: int) -> list[Notification]:
    """Tell a person a task is now theirs (routed to them by the model, or handed to them by a manager)."""
    from . import texts

    return _per_locale(
        session, [user_id], item=item, case_id=item.case_id, kind="assigned", title=texts.ASSIGNED_TITLE,
        body=texts.ASSIGNED_BODY, dedupe_key=f"assigned:{item.task_id}:{user_id}",
    )


def _role_holders(session: Session, organization_id: int, roles: Iterable[str]) -> list[int]:
    from ..models import Membership

    return list(session.scalars(
        select(Membership.user_id).where(Membership.organization_id == organization_id,
                                         Membership.role.in_(list(roles)))
    ))


def _workers(session: Session, item) -> list[int]:
    """Who is expected to do an open work item: its assignee, else the holders of its role there."""
    if item.assignee_id is not None:
        return [item.assignee_id]
    # researchers only do the tasks addressed to them; an unaddressed one waits for the security office
    roles = ["security_officer"] if item.role == "researcher" else [item.role]
    return _role_holders(session, item.organization_id, roles)


def _managers(session: Session, item) -> list[int]:
    """Who answers for an overdue work item: the managers of the organization it was routed to."""
    from ..auth.roles import FA_ROLES, INSTITUTION_ROLES
    from ..models import Case

    if item.role in FA_ROLES:
        return _role_holders(session, item.organization_id, ["fa_manager"])
    if item.role in INSTITUTION_ROLES:
        return _role_holders(session, item.organization_id, ["institution_admin"])
    # a ministry's answer is awaited by the funding agency that asked for it
    case = session.get(Case, item.case_id)
    return _role_holders(session, case.funding_agency_id, ["fa_manager"]) if case else []


def remind_and_escalate(session: Session, reminder_days: int) -> tuple[int, int]:
    """Reminders for work items due within `reminder_days`, escalations for those past due.

    Each is sent once per task and person (`dedupe_key`), however often this runs. Returns how many
    reminders and escalations were created.
    """
    from ..models import User, WorkItem
    from . import texts

    now = clock.now()
    soon = list(session.scalars(
        select(WorkItem).where(WorkItem.due_at > now, WorkItem.due_at <= now + timedelta(days=reminder_days))
    ))
    reminders = 0
    for item in soon:
        reminders += len(_per_locale(
            session, _workers(session, item), item=item, case_id=item.case_id, kind="reminder",
            title=texts.REMINDER_TITLE, body=texts.REMINDER_BODY, dedupe_key=f"reminder:{item.task_id}",
        ))
    late = list(session.scalars(select(WorkItem).where(WorkItem.due_at <= now)))
    escalations = 0
    for item in late:
        holder = None
        if item.assignee_id is not None:
            person = session.get(User, item.assignee_id)
            holder = person.display_name or person.username if person else None
        recipients = set(_managers(session, item)) | set(_workers(session, item))
        escalations += len(_per_locale(
            session, recipients, item=item, case_id=item.case_id, kind="escalation",
            title=texts.ESCALATION_TITLE, body=texts.ESCALATION_BODY, dedupe_key=f"escalation:{item.task_id}",
            holder=holder,
        ))
    return reminders, escalations


def listing(session: Session, user_id: int, include_read: bool = False, limit: int = 50) -> list[Notification]:
    """A person's notifications, newest first (unread only unless `include_read`)."""
    query = select(Notification).where(Notification.user_id == user_id)
    if not include_read:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def open_one(session: Session, user_id: int, notification_id: int) -> Notification | None:
    """The person's own notification, marked read (None when it is not theirs or does not exist)."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        return None
    mark_read(session, user_id, [notification_id])
    return row


# -- a task that is done -------------------------------------------------------------------------------------
def _task_url_open(case_id: int | None = None):
    """SQL: the notification's link is an open task (a work item of the read model)."""
    from sqlalchemy import exists, literal

    from ..models import WorkItem

    where = [Notification.url == literal("/tasks/") + WorkItem.task_id]
    if case_id is not None:  # an id or a bind parameter
        where.append(WorkItem.case_id == case_id)
    return exists().where(*where)


def mark_tasks_done(session: Session, case_id: int) -> int:
    """After a case moved on: its notifications about tasks that are no longer open (done, or ended with the
    case) are marked read, for everyone, so that nobody is sent to a task that is done (called by
    `pipeline.CaseChange.run` after the work items were refreshed). Returns how many.

    One UPDATE, built once: it runs on every completed task, and building it per call cost more CPU than the
    database spends on it."""
    global _MARK_DONE
    if _MARK_DONE is None:
        from sqlalchemy import bindparam

        case = bindparam("done_case")
        _MARK_DONE = (update(Notification.__table__)
                      .where(Notification.case_id == case, Notification.read_at.is_(None),
                             Notification.url.like("/tasks/%"), ~_task_url_open(case))
                      .values(read_at=bindparam("done_at")))
    return session.execute(_MARK_DONE, {"done_case": case_id, "done_at": clock.now()}).rowcount


_MARK_DONE = None


def done_ids(session: Session, rows: Iterable[Notification]) -> set[int]:
    """Of these notifications, the ones whose task is done (no longer open): the list says so."""
    ids = [r.id for r in rows if r.url and r.url.startswith("/tasks/")]
    if not ids:
        return set()
    return set(session.scalars(select(Notification.id).where(Notification.id.in_(ids), ~_task_url_open())))


# -- use cases (each opens its own transaction) ----------------------------------------------------------------
def open_notification(svc, actor, notification_id: int) -> str | None:
    """The actor opens one of their own notifications: marked read; returns its link (404 when not theirs)."""
    from ..errors import NotFound
    from ..unit_of_work import unit_of_work

    with unit_of_work(svc) as session:
        row = open_one(session, actor.user_id, notification_id)
        if row is None:
            raise NotFound("no such notification of yours")
        return row.url


def read_notifications(svc, actor, notification_ids: Iterable[int] | None = None) -> int:
    """The actor marks their own notifications read (the given ones, or all); returns how many."""
    from ..unit_of_work import unit_of_work

    with unit_of_work(svc) as session:
        return mark_read(session, actor.user_id, notification_ids)


def notification_page(svc, actor, include_read: bool, limit: int) -> tuple[list[Notification], set[int]]:
    """The actor's notifications (newest first) and which of them are about a task that is done."""
    with svc.db.reader() as session:
        rows = listing(session, actor.user_id, include_read=include_read, limit=limit)
        return rows, done_ids(session, rows)


def unread_count(svc, user_id: int) -> int:
    """How many of the user's notifications are unread (the page header's badge)."""
    from sqlalchemy import func

    with svc.db.reader() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
