"""Small reads the queue and task pages need besides the queue itself: names, programs, colleagues, and the
choices of the new-case form (open calls, institutions)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager

from ..auth.actor import Actor
from ..auth.permissions import may_start_application
from ..models import Call, Membership, Organization, Program, User, WorkItem
from .queries import tab_parts


def programs_in_queues(session: Session, actor: Actor) -> list[Program]:
    """The programs of the work items the actor sees in any tab (the queue's program filter).

    Asked program by program (there are few): does any item of this program meet one of the tabs' parts? Each
    part is an EXISTS that an index answers at its first row. The distinct programs of every visible item
    instead read them all: 86,000 rows and ~150 ms for the largest institution among 100,000 cases."""
    parts = [part for tab in ("mine", "team", "org") for part in tab_parts(actor, tab)]  # overdue: a subset
    found = or_(*(select(WorkItem.id).where(WorkItem.program_id == Program.id, part).exists() for part in parts))
    return list(session.scalars(select(Program).where(found).order_by(Program.code)))


def names(session: Session, items: Iterable[WorkItem]) -> tuple[dict[int, Organization], dict[int, Program],
                                                                 dict[int, str]]:
    """Organizations, programs and people named on a page of work items, in three queries at most."""
    items = list(items)
    org_ids = {i.lead_institution_id for i in items if i.lead_institution_id} | {i.organization_id for i in items}
    program_ids = {i.program_id for i in items if i.program_id}
    user_ids = {i.assignee_id for i in items if i.assignee_id}
    orgs = {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))} \
        if org_ids else {}
    programs = {p.id: p for p in session.scalars(select(Program).where(Program.id.in_(program_ids)))} \
        if program_ids else {}
    people = {uid: (name or username) for uid, name, username in session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(user_ids))
    )} if user_ids else {}
    return orgs, programs, people


def assignable_people(session: Session, item: WorkItem) -> list[User]:
    """Who may be handed this task: active holders of its role in its organization (the security office
    too, for a researcher's task), as `commands.assign_task` accepts them."""
    roles = [item.role, "security_officer"] if item.role == "researcher" else [item.role]
    ids = select(Membership.user_id).where(Membership.organization_id == item.organization_id,
                                           Membership.role.in_(roles))
    return list(session.scalars(
        select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.display_name, User.username)
    ))


def organizations_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Organization]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(wanted)))}


def open_calls(session: Session) -> list[Call]:
    """Calls a lead institution may open a case under now (`commands.start_case` takes any open call)."""
    return list(session.scalars(
        select(Call).join(Program).options(contains_eager(Call.program)).where(Call.status == "open")
        .order_by(Program.code, Call.code)
    ))


def institutions(session: Session, ids: Iterable[int] | None = None) -> list[Organization]:
    """Active research institutions (optionally only these ids), by name: partners and lead institutions."""
    query = select(Organization).where(Organization.kind == "institution", Organization.active.is_(True))
    if ids is not None:
        query = query.where(Organization.id.in_(list(ids) or [0]))
    return list(session.scalars(query.order_by(Organization.name, Organization.id)))


def lead_institutions(session: Session, actor: Actor) -> list[Organization]:
    """The institutions the actor may open cases for (`permissions.may_start_application`)."""
    ids = [g.organization_id for g in actor.grants if may_start_application(actor, g.organization_id)]
    return institutions(session, ids)


def start_choices(svc, actor: Actor) -> dict:
    """What the new-case form offers the actor, read in a session of its own: the institutions they may open a
    case for (`leads`), the open calls, and the partner institutions (their own left out when they have one)."""
    with svc.db.reader() as session:
        leads = lead_institutions(session, actor)
        lead_ids = {o.id for o in leads}
        partners = [o for o in institutions(session) if not (len(leads) == 1 and o.id in lead_ids)]
        return {"leads": leads, "calls": open_calls(session), "partners": partners}
