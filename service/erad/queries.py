"""Reads behind the e-Rad pages: the calls an actor may export, and a case's open team-roster task."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth.actor import Actor
from ..auth.permissions import View, may_work
from ..cases import queries
from ..errors import N_, Forbidden, NotFound
from ..models import Call, Case, CaseParty, Organization, WorkItem
from . import export, roster_import


def exportable_calls(session: Session, actor: Actor) -> list[tuple[Call, object, int]]:
    """(call, its programme, how many application cases it has) for every call the actor may export, by code."""
    calls = [c for c in session.scalars(select(Call).order_by(Call.code)) if export.may_export(actor, c)]
    if not calls:
        return []
    counts = dict(session.execute(
        select(Case.call_id, func.count()).where(Case.call_id.in_([c.id for c in calls]),
                                                 Case.kind == "application").group_by(Case.call_id)).all())
    return [(call, call.program, counts.get(call.id, 0)) for call in calls]


def roster_task(session: Session, actor: Actor, case_id: int) -> tuple[Case, WorkItem]:
    """The case (404 outside one's scope) and its open team-roster task that the actor may work (403 when one
    sees the case but may not work the task, 404 when none is open)."""
    case, _scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
    items = session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                   WorkItem.form == roster_import.ROSTER_FORM)
                            .order_by(WorkItem.id)).all()
    if not items:
        raise NotFound(N_("this case has no open team roster task"))
    workable = [item for item in items if may_work(actor, item)]
    if not workable:
        raise Forbidden(N_("this task is for another role or person"))
    return case, workable[0]


def partner_parties(session: Session, case_id: int) -> list[tuple[int, str, str | None, str | None]]:
    """The case's partner institutions as (id, name, English name, code), in id order."""
    return [tuple(p) for p in session.execute(
        select(Organization.id, Organization.name, Organization.name_en, Organization.code)
        .join(CaseParty, CaseParty.organization_id == Organization.id)
        .where(CaseParty.case_id == case_id, CaseParty.role == "partner")
        .order_by(Organization.id))]
