"""Reading cases and tasks, as far as the actor may see them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from .. import followups
from ..auth.actor import Actor
from ..auth.permissions import (
    CaseScope,
    View,
    case_scope,
    case_view,
    full_view_clause,
    may_assign,
    may_send,
    may_work,
    visible_cases_clause,
)
from ..auth.roles import LaneError, parse_lane
from ..designer.store import form_json, specs_for
from ..engine.runtime import CaseWorkflow, TaskNotReady
from ..errors import N_, NotFound
from ..forms.schema import localize_ui
from ..models import Case, CaseState, WorkItem
from ..task_hooks import starting_data
from . import messages as case_messages
from .context import render_instructions, task_context
from .forms import form_schema

CASE_SORTS = {"updated": Case.updated_at.desc(), "-updated": Case.updated_at.asc(), "created": Case.created_at.desc(),
              "-created": Case.created_at.asc(), "reference": Case.reference}


@dataclass
class CasePage:
    items: list[Case]
    total: int
    page: int
    per_page: int
    # the listed cases the actor sees in FULL: only those show their risk level (a partner, a ministry and a
    # team researcher see status, stage and outcome)
    full_ids: frozenset[int] = frozenset()


def list_cases(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    program_id: int | None = None,
    search: str | None = None,
    sort: str = "updated",
    page: int = 1,
    per_page: int = 25,
    stage: str | None = None,
    risk_level: str | None = None,
    institution_id: int | None = None,
) -> CasePage:
    where = [visible_cases_clause(actor)]
    if status:
        where.append(Case.status == status)
    if program_id:
        where.append(Case.program_id == program_id)
    if stage:
        where.append(Case.stage == stage)
    if institution_id:
        where.append(Case.lead_institution_id == institution_id)
    if risk_level:
        # only among the cases the actor sees in FULL: a partner filtering by level must not learn the level of
        # a case they see in part (the filter then finds none of those)
        where.extend([Case.risk_level == risk_level, full_view_clause(actor)])
    if search:
        needle = f"%{search.strip()}%"
        where.append(Case.reference.ilike(needle) | Case.title.ilike(needle))
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    items = session.scalars(
        select(Case).where(*where).order_by(CASE_SORTS.get(sort, CASE_SORTS["updated"]), Case.id.desc())
        .offset((max(page, 1) - 1) * per_page).limit(per_page)
    ).all()
    ids = [c.id for c in items]
    full = frozenset(session.scalars(select(Case.id).where(Case.id.in_(ids), full_view_clause(actor)))) if ids \
        else frozenset()
    return CasePage(list(items), total, max(page, 1), per_page, full)


@dataclass(frozen=True)
class CaseInError:
    id: int
    reference: str
    process_id: str
    stopped_at: object
    error_message: str | None


def cases_in_error(session: Session, actor: Actor, limit: int = 200) -> list[CaseInError]:
    """For system administrators (who restart them, `commands.retry_case`): the cases that stopped in error,
    latest first, with why, and nothing else of the case."""
    if not (actor.has("system_admin") or actor.is_system):
        raise NotFound(N_("no such page"))
    rows = session.execute(
        select(Case.id, Case.reference, Case.process_id, Case.updated_at, Case.error_message)
        .where(Case.status == "error").order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit)
    ).all()
    return [CaseInError(*row) for row in rows]


def get_case(session: Session, actor: Actor, case_id: int, at_least: View = View.SUMMARY) -> tuple[Case, View]:
    case, scope = scoped_case(session, actor, case_id, at_least)
    return case, scope.view


def scoped_case(session: Session, actor: Actor, case_id: int,
                at_least: View = View.SUMMARY) -> tuple[Case, CaseScope]:
    """The case and what of it the actor sees (`permissions.case_scope`); NotFound below `at_least`."""
    case = session.get(Case, case_id)
    scope = case_scope(actor, case)
    if scope.view < at_least:
        raise NotFound(N_("no such case"))
    return case, scope


# case events people send from the case page: the registry's messages not reserved to tejun itself (which sends
# `screening_hit` and `disclosure_changed` through service/followups)
PAGE_MESSAGES = case_messages.sent_by_people()


def case_actions(actor: Actor, case: Case, flow: CaseWorkflow) -> list[str]:
    """The messages of PAGE_MESSAGES the case waits for now and the actor may send (as `send_message` checks)."""
    if case.status != "running" or case_view(actor, case) < View.PART:
        return []
    offered = set()
    registry = case_messages.registry()
    for message in flow.waiting_messages():
        if message.name not in PAGE_MESSAGES or not message.lane:
            continue
        try:
            role = parse_lane(message.lane)[0]
        except LaneError:
            continue
        if may_send(actor, case, role) and registry[message.name].may_send(actor, case):
            offered.add(message.name)
    if case.kind == "application" and not actor.is_system:
        # changes recorded any time are held until the case can take them (service/followups); the FA's own
        # request once the case is accepted (a round may be open)
        for name in followups.HELD_BY_PEOPLE:
            later = name == "follow_up_requested" and case.outcome != "accepted"
            if name in PAGE_MESSAGES and not later and registry[name].may_send(actor, case):
                offered.add(name)
    return [name for name in PAGE_MESSAGES if name in offered]


def restore(session: Session, case: Case, time_limit: float = 1.0) -> CaseWorkflow:
    """The case's workflow as stored (the case pipeline's own restore, for reading)."""
    from .pipeline import restore_flow

    return restore_flow(session, case, time_limit)


# built once (the hot path of every task page and completion): the item, its case with the case's parties,
# and optionally the stored workflow
_ITEM_CASE = (select(WorkItem, Case).join(Case, Case.id == WorkItem.case_id)
              .where(WorkItem.task_id == bindparam("task_id")).options(joinedload(Case.parties)))
_ITEM_CASE_STATE = (select(WorkItem, Case, CaseState).join(Case, Case.id == WorkItem.case_id)
                    .join(CaseState, CaseState.case_id == Case.id)
                    .where(WorkItem.task_id == bindparam("task_id")).options(joinedload(Case.parties)))


def visible_work_item(session: Session, actor: Actor, task_id: str, *, with_state: bool = False,
                      when_missing=None) -> tuple[WorkItem, Case] | tuple[WorkItem, Case, CaseState]:
    """The open work item, its case (with the case's parties, for `case_scope`) and, `with_state`, the case's
    stored workflow (its `CaseState` row): one statement. NotFound unless the actor may work it, assign it or
    sees the case whole; the one way pages, the API and the use cases load and authorize a work item.
    `when_missing()` runs first when there is no such open item (the use cases tell a task finished meanwhile
    from one never seen)."""
    query = _ITEM_CASE_STATE if with_state else _ITEM_CASE
    row = session.execute(query, {"task_id": str(task_id)}).unique().first()
    if row is None:
        if when_missing is not None:
            when_missing()
        raise NotFound(N_("no such open task (it may have been completed already)"))
    item, case = row[0], row[1]
    if not (may_work(actor, item) or may_assign(actor, item) or _whole_view_shows(session, actor, case, item)):
        raise NotFound(N_("no such open task (it may have been completed already)"))
    return (item, case, row[2]) if with_state else (item, case)


def _whole_view_shows(session: Session, actor: Actor, case: Case, item: WorkItem) -> bool:
    """A full view of the case shows its open tasks, except those an organization keeps to itself
    (`privateToOrganization`: a partner's people's disclosures) unless it shared them with the viewer's."""
    from . import private_steps
    from .history import task_organizations

    if case_view(actor, case) < View.FULL:
        return False
    if not private_steps.is_private(session, case, item.element_id):
        return True
    shares = private_steps.shared_with(session, case, task_organizations(session, case.id))
    return case_scope(actor, case).sees_private(item.organization_id, shares.get(item.organization_id, frozenset()))


def task_form(session: Session, actor: Actor, task_id: str, lang: str = "ja") -> dict:
    """Everything a task page (and `GET /api/v1/tasks/<id>`) shows, in `lang`: the form's schema and UI
    schema, the data to start from, what the model shows beside the form, the instructions.

    One statement reads the work item, its case and the case's stored workflow; the form comes from the
    per-version caches, localized once (reference lists included); the task's data is read from the stored
    state without restoring the workflow (`CaseWorkflow.peek_ready_task`). Starting data is what the case
    already holds for the form's fields (e.g. the previous round's answers), overlaid by the user's saved
    draft.
    """
    item, case, stored = visible_work_item(session, actor, task_id, with_state=True)
    state = stored.state
    schema = form_schema(session, case, item.form, lang) if item.form else None
    spec_props = {}
    ui_schema = None
    context, instructions = [], None
    if item.form:
        spec, subprocess_specs = specs_for(session, case.model_version_id, case.process_id)
        try:
            task = CaseWorkflow.peek_ready_task(state, spec, subprocess_specs, item.task_id)
        except TaskNotReady:
            raise NotFound(N_("no such open task (it may have been completed already)")) from None
        ui_name = task.properties.get("formUiSchemaFilename")
        ui_schema = form_json(session, case.model_version_id, ui_name) if ui_name else None
        fields = set((schema or {}).get("properties") or {})
        spec_props = {key: task.data[key] for key in fields if key in task.data}
        spec_props.update(starting_data(session, actor, case, item, task.data))
        # what the model shows beside the form, as far as this viewer may see it (service/cases/context.py)
        context = task_context(session, actor, case_scope(actor, case), case, item, task.properties, task.data,
                               lang)
        instructions = render_instructions(task.instructions, task.data, lang)
    data = {**spec_props, **(item.draft or {})}
    return {
        "item": item,
        "case": case,
        "schema": schema,
        "ui_schema": localize_ui(ui_schema, lang) if ui_schema else {},
        "data": data,
        "may_work": may_work(actor, item),
        "may_assign": may_assign(actor, item),
        "context": context,
        "instructions": instructions,
    }


def case_filter_choices(session: Session, actor: Actor) -> tuple[list, list]:
    """The lead institutions and programmes of the cases the actor sees (the case list's filter choices)."""
    from ..auth.permissions import visible_cases_clause
    from ..models import Organization, Program

    visible = select(Case.lead_institution_id, Case.program_id).where(visible_cases_clause(actor)).subquery()
    institutions = list(session.scalars(
        select(Organization).where(Organization.id.in_(select(visible.c.lead_institution_id)))
        .order_by(Organization.name, Organization.id)))
    programs = list(session.scalars(
        select(Program).where(Program.id.in_(select(visible.c.program_id))).order_by(Program.code)))
    return institutions, programs


def case_reference(svc, case_id: int) -> str | None:
    """A case's reference (what messages about a case just started or changed name it by)."""
    with svc.db.reader() as session:
        return session.scalar(select(Case.reference).where(Case.id == case_id))


def designating_agencies(session: Session, actor: Actor) -> list:
    """The funding agencies the actor may start a programme designation for, by name."""
    from ..auth.permissions import may_start_designation
    from ..models import Organization

    ids = sorted({g.organization_id for g in actor.grants if may_start_designation(actor, g.organization_id)})
    if not ids:
        return []
    return list(session.scalars(select(Organization).where(
        Organization.id.in_(ids), Organization.kind == "funding_agency").order_by(Organization.name)))


def designating_ministries_for(svc, actor: Actor) -> tuple[list, list]:
    """The ministries whose officer the actor is (they may designate a programme for it, 「国又はFAが指定する」)
    and, when there are any, every funding agency by name (the ministry designates a programme of any
    agency, which then publishes the call); both empty for anyone else. A read session of its own."""
    from ..models import Organization
    from .designation import may_designate_as_ministry

    ids = sorted({g.organization_id for g in actor.grants if may_designate_as_ministry(actor, g.organization_id)})
    if not ids:
        return [], []
    with svc.db.reader() as session:
        ministries = list(session.scalars(select(Organization).where(
            Organization.id.in_(ids), Organization.kind == "ministry").order_by(Organization.name)))
        if not ministries:
            return [], []
        agencies = list(session.scalars(select(Organization).where(
            Organization.kind == "funding_agency").order_by(Organization.name)))
        return ministries, agencies


def cases_in_error_for(svc, actor: Actor, limit: int = 200) -> list[CaseInError]:
    """`cases_in_error` in a read session of its own (for entry points, which open none)."""
    with svc.db.reader() as session:
        return cases_in_error(session, actor, limit)


def designating_agencies_for(svc, actor: Actor) -> list:
    """`designating_agencies` in a read session of its own (for entry points, which open none)."""
    with svc.db.reader() as session:
        return designating_agencies(session, actor)


def case_view_for(svc, actor: Actor, case_id: int, at_least: View = View.SUMMARY) -> View:
    """How much of a case the actor sees (`get_case`, NotFound below `at_least`) in a read session of its own."""
    with svc.db.reader() as session:
        return get_case(session, actor, case_id, at_least)[1]


def list_cases_for(svc, actor: Actor, **filters) -> tuple[CasePage, list[View]]:
    """`list_cases` (same filters) in a read session of its own, with how much the actor sees of each case
    (`case_view` needs the session); the page's cases keep their columns readable."""
    with svc.db.reader() as session:
        page = list_cases(session, actor, **filters)
        return page, [case_scope(actor, case).view for case in page.items]


def case_for(svc, actor: Actor, case_id: int, at_least: View = View.SUMMARY) -> tuple[Case, View]:
    """`get_case` in a read session of its own: the case (its columns readable) and how much the actor sees."""
    with svc.db.reader() as session:
        return get_case(session, actor, case_id, at_least)
