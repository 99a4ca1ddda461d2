"""Queue queries over the work-item read model: what a user sees in each tab of their task list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import routed_to_roles
from ..auth.roles import FA_ROLES, MINISTRY_ROLES
from ..models import WorkItem

TABS = ("mine", "team", "org", "overdue")
# "due": soonest first, undated last. Written NULLS LAST (not `due_at IS NULL, due_at`) so that PostgreSQL
# reads the first page in order from the (organization, due) and (assignee, due) indexes instead of sorting
# every row of the tab.
SORTS = {
    "due": (WorkItem.due_at.asc().nulls_last(), WorkItem.id),
    "-due": (WorkItem.due_at.desc().nulls_last(), WorkItem.id.desc()),
    "created": (WorkItem.created_at, WorkItem.id),
    "-created": (WorkItem.created_at.desc(), WorkItem.id.desc()),
    "priority": (WorkItem.priority.desc(), WorkItem.due_at.asc().nulls_last(), WorkItem.id),
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
        # open_items_for without its "assigned to me" branch, which no unassigned item meets
        return and_(routed_to_roles(actor), WorkItem.assignee_id.is_(None))
    org = _org_clause(actor)
    if tab == "org":
        return org if org is not None else mine
    if tab == "overdue":
        # mine, or routed to my roles, or in an organization I see whole (roles there add nothing)
        whole = actor.orgs_with(*FA_ROLES, *MINISTRY_ROLES, "security_officer", "institution_admin")
        rest = Actor(actor.user_id, actor.username, tuple(g for g in actor.grants if g.organization_id not in whole))
        scope = [mine, routed_to_roles(rest)] + ([org] if org is not None else [])
        return and_(or_(*scope), WorkItem.due_at < clock.now())
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
    """Every tab's count in one query (one pass over the rows of any tab, one round trip)."""
    clauses = [tab_clause(actor, tab) for tab in TABS]
    row = session.execute(
        select(*(func.count().filter(clause) for clause in clauses)).select_from(WorkItem).where(or_(*clauses))
    ).one()
    return {tab: row[n] or 0 for n, tab in enumerate(TABS)}
