"""Queue queries over the work-item read model: what a user sees in each tab of their task list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import open_items_for
from ..auth.roles import FA_ROLES, MINISTRY_ROLES
from ..models import WorkItem

TABS = ("mine", "team", "org", "overdue")
SORTS = {
    "due": (WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id),
    "-due": (WorkItem.due_at.is_(None), WorkItem.due_at.desc(), WorkItem.id.desc()),
    "created": (WorkItem.created_at, WorkItem.id),
    "-created": (WorkItem.created_at.desc(), WorkItem.id.desc()),
    "priority": (WorkItem.priority.desc(), WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id),
    "case": (WorkItem.case_reference, WorkItem.id),
}


@dataclass
class Page:
    items: list[WorkItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _org_clause(actor: Actor):
    """Everything open in the organizations where the actor works cases (not researchers' own orgs)."""
    orgs = actor.orgs_with(*FA_ROLES, *MINISTRY_ROLES, "security_officer", "institution_admin")
    return WorkItem.organization_id.in_(orgs) if orgs else None


def tab_clause(actor: Actor, tab: str):
    mine = WorkItem.assignee_id == actor.user_id
    if tab == "mine":
        return mine
    if tab == "team":
        return and_(open_items_for(actor), WorkItem.assignee_id.is_(None))
    org = _org_clause(actor)
    if tab == "org":
        return org if org is not None else mine
    if tab == "overdue":
        scope = or_(mine, open_items_for(actor), org) if org is not None else or_(mine, open_items_for(actor))
        return and_(scope, WorkItem.due_at < clock.now())
    raise ValueError(f"unknown queue tab {tab!r}")


def queue(
    session: Session,
    actor: Actor,
    tab: str = "mine",
    *,
    page: int = 1,
    per_page: int = 25,
    sort: str = "due",
    program_id: int | None = None,
    search: str | None = None,
) -> Page:
    where = [tab_clause(actor, tab)]
    if program_id:
        where.append(WorkItem.program_id == program_id)
    if search:
        needle = f"%{search.strip()}%"
        where.append(or_(WorkItem.case_reference.ilike(needle), WorkItem.case_title.ilike(needle),
                          WorkItem.title.ilike(needle), WorkItem.title_en.ilike(needle)))
    total = session.scalar(select(func.count()).select_from(WorkItem).where(*where)) or 0
    items = session.scalars(
        select(WorkItem)
        .where(*where)
        .order_by(*SORTS.get(sort, SORTS["due"]))
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, max(page, 1), per_page)


def counts(session: Session, actor: Actor) -> dict[str, int]:
    return {
        tab: session.scalar(select(func.count()).select_from(WorkItem).where(tab_clause(actor, tab))) or 0
        for tab in TABS
    }
