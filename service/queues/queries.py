"""Queue queries over the work-item read model: what a user sees in each tab of their task list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import queue_roles, routed_to_roles
from ..auth.roles import FA_ROLES, MINISTRY_ROLES
from ..models import WorkItem

TABS = ("mine", "team", "org", "overdue")


def _sort_columns(entity, sort: str):
    """The ORDER BY of a sort key over `entity` (the work-item table or a union of its parts).

    "due": soonest first, undated last. Written NULLS LAST (not `due_at IS NULL, due_at`) so that PostgreSQL
    reads the first page in order from the (organization, due) and (assignee, due) indexes instead of sorting
    every row of the tab.
    """
    e = entity
    orders = {
        "due": (e.due_at.asc().nulls_last(), e.id),
        "-due": (e.due_at.desc().nulls_last(), e.id.desc()),
        "created": (e.created_at, e.id),
        "-created": (e.created_at.desc(), e.id.desc()),
        "priority": (e.priority.desc(), e.due_at.asc().nulls_last(), e.id),
        "case": (e.case_reference, e.id),
    }
    return orders.get(sort, orders["due"])


SORTS = ("due", "-due", "created", "-created", "priority", "case")


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


def tab_parts(actor: Actor, tab: str) -> list:
    """The tab as conditions that no row meets twice: the tab is their union.

    Disjoint parts let each be counted and read in due order from its own index (an OR across the assignee
    and the organization is a bitmap scan of every matching row, then a sort), and their counts add up.
    """
    mine = WorkItem.assignee_id == actor.user_id
    if tab == "mine":
        return [mine]
    if tab == "team":
        # routed to my roles and not assigned (an item assigned to me is in "mine")
        return [and_(routed_to_roles(actor), WorkItem.assignee_id.is_(None))]
    org = _org_clause(actor)
    if tab == "org":
        return [org if org is not None else mine]
    if tab == "overdue":
        # in an organization I see whole; or mine elsewhere; or routed to my roles elsewhere and not mine
        # (roles in an organization seen whole add nothing, so `rest` holds the grants outside those)
        whole = actor.orgs_with(*FA_ROLES, *MINISTRY_ROLES, "security_officer", "institution_admin")
        rest = Actor(actor.user_id, actor.username, tuple(g for g in actor.grants if g.organization_id not in whole))
        outside = [WorkItem.organization_id.not_in(whole)] if whole else []
        not_mine = or_(WorkItem.assignee_id.is_(None), WorkItem.assignee_id != actor.user_id)
        parts = [org] if org is not None else []
        parts.append(and_(mine, *outside))
        if queue_roles(rest):
            parts.append(and_(routed_to_roles(rest), not_mine))
        due = WorkItem.due_at < clock.now()
        return [and_(part, due) for part in parts]
    raise ValueError(f"unknown queue tab {tab!r}")


def tab_clause(actor: Actor, tab: str):
    """The tab as one condition (for checks such as "may this person see this item")."""
    parts = tab_parts(actor, tab)
    return parts[0] if len(parts) == 1 else or_(*parts)


def _count(where) -> object:
    return select(func.count()).select_from(WorkItem).where(*where).scalar_subquery()


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
    filters = []
    if program_id:
        filters.append(WorkItem.program_id == program_id)
    if search:
        needle = f"%{search.strip()}%"
        filters.append(or_(WorkItem.case_reference.ilike(needle), WorkItem.case_title.ilike(needle),
                           WorkItem.title.ilike(needle), WorkItem.title_en.ilike(needle)))
    parts = [[part, *filters] for part in tab_parts(actor, tab)]
    page = max(page, 1)
    offset = (page - 1) * per_page
    counted = [_count(where) for where in parts]
    # the tab's count rides along with the page as one more column (PostgreSQL computes an uncorrelated
    # scalar subquery once): one round trip for both; only a page past the end asks for the count alone
    total_column = counted[0] if len(counted) == 1 else sum(func.coalesce(c, 0) for c in counted)
    if len(parts) == 1:
        statement = (select(WorkItem, total_column).where(*parts[0]).order_by(*_sort_columns(WorkItem, sort))
                     .offset(offset).limit(per_page))
    else:
        # each part's first offset+per_page rows in order (from its index), then the page of their union; the
        # union carries only the sort keys (proxying every work-item column through it cost more Python time
        # than the query took in PostgreSQL), and the page's rows are joined back by id
        keys = (WorkItem.id, WorkItem.due_at, WorkItem.created_at, WorkItem.priority, WorkItem.case_reference)
        branches = [
            select(*keys).where(*where).order_by(*_sort_columns(WorkItem, sort)).limit(offset + per_page)
            for where in parts
        ]
        tab = union_all(*(select(b.subquery()) for b in branches)).subquery("tab")
        statement = (select(WorkItem, total_column).join(tab, WorkItem.id == tab.c.id)
                     .order_by(*_sort_columns(tab.c, sort)).offset(offset).limit(per_page))
    rows = session.execute(statement).all()
    total = rows[0][1] or 0 if rows else 0
    if not rows and offset:  # past the end (an empty first page is an empty tab)
        total = sum(c or 0 for c in session.execute(select(*counted)).one())
    return Page([row[0] for row in rows], total, page, per_page)


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """Every tab's count in one round trip: one count per disjoint part, each planned on its own index."""
    layout = [(tab, tab_parts(actor, tab)) for tab in TABS]
    row = iter(session.execute(select(*(_count([part]) for _, parts in layout for part in parts))).one())
    return {tab: sum(next(row) or 0 for _ in parts) for tab, parts in layout}
