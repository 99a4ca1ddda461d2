"""Routing ready tasks to organizations, roles and people: the work-item projection of a case.

Called in the same transaction as every change to a case, so queues are never out of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..auth.roles import LaneError, parse_lane
from ..clock import JST
from ..designer.store import form_json
from ..engine.runtime import CaseWorkflow, EngineError, HumanTask
from ..models import PRIORITIES, Case, CaseMember, CaseParty, Membership, Organization, TaskRoute, User, WorkItem
from ..task_hooks import on_tasks_ready
from .context import title_suffixes


def task_titles(schema: dict | None, fallback: str) -> tuple[str, str]:
    """(Japanese, English) title of a task: its form's title, else the BPMN element's name."""
    if not schema:
        return fallback, fallback
    ja = schema.get("title") or fallback
    en = ((schema.get("x-i18n") or {}).get("en") or {}).get("title") or ja
    return ja, en


def parse_due(value) -> datetime | None:
    """A due moment from an ISO date (end of that day in Japan) or date-time (JST when no zone)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59, 59), JST)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59), JST)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise EngineError(f"due date {text!r} is not an ISO date or date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    return moment.astimezone(UTC)


def _organization_for(session: Session, case: Case, task: HumanTask, scope: str) -> int:
    if scope == "fa":
        return case.funding_agency_id
    if scope == "lead":
        if case.lead_institution_id is None:
            raise EngineError("lane needs a lead institution, and this case has none", task.element_id)
        return case.lead_institution_id
    key = f"{scope}_organization_id"
    raw = task.data.get(key)
    try:
        org_id = int(raw)
    except (TypeError, ValueError):
        raise EngineError(
            f"lane @{scope} needs the data key {key!r} to hold an organization id", task.element_id
        ) from None
    if session.get(Organization, org_id) is None:
        raise EngineError(f"{key} = {org_id} is not a known organization", task.element_id)
    return org_id


@dataclass
class Route:
    """Where a ready task goes, as its lane, due date and assignee expressions say."""

    role: str
    scope: str
    organization_id: int
    due_at: datetime | None
    assignee: str | None  # the username the assignee expression gave


def route_of(session: Session, case: Case, flow: CaseWorkflow, task: HumanTask) -> Route:
    """Evaluate a ready task's lane, due date and assignee; raises EngineError when the model's expressions
    cannot be routed. Writes nothing: replays (a `CaseChange` with writes off) run the same checks."""
    try:
        role, scope = parse_lane(task.lane)
    except LaneError as exc:
        raise EngineError(str(exc), task.element_id) from exc
    org_id = _organization_for(session, case, task, scope)
    due_expression = task.properties.get("dueDate")
    due_at = parse_due(flow.evaluate(task.task_id, due_expression)) if due_expression else None
    expression = task.properties.get("assignee")
    username = flow.evaluate(task.task_id, expression) if expression else None
    return Route(role, scope, org_id, due_at, str(username) if username else None)


def _assignee_for(session: Session, username: str | None, org_id: int) -> int | None:
    if not username:
        return None
    return session.scalar(
        select(User.id)
        .join(Membership)
        .where(User.username == username, User.active.is_(True), Membership.organization_id == org_id)
        .limit(1)
    )


def _named_member(session: Session, task: HumanTask, org_id: int) -> int | None:
    """The roster member a task is about (`member.username` in its data), when they belong to the organization
    the task is routed to: a roster cannot put people of other institutions on a case's team."""
    member = task.data.get("member")
    username = member.get("username") if isinstance(member, dict) else None
    if not username:
        return None
    return session.scalar(
        select(User.id).join(Membership)
        .where(User.username == str(username), User.active.is_(True), Membership.organization_id == org_id)
        .limit(1)
    )


def build_item(session: Session, case: Case, flow: CaseWorkflow, task: HumanTask, now: datetime) -> WorkItem:
    route = route_of(session, case, flow, task)
    role, org_id, due_at = route.role, route.organization_id, route.due_at
    if route.scope not in ("fa", "lead"):
        party_role = "ministry" if route.scope == "ministry" else "partner"
        if not any(p.organization_id == org_id and p.role == party_role for p in case.parties):
            case.parties.append(CaseParty(organization_id=org_id, role=party_role))
    form = task.properties.get("formJsonSchemaFilename")
    title, title_en = task_titles(form_json(session, case.model_version_id, form), task.name)
    about, about_en = title_suffixes(session, case, task.properties, task.data)
    if about:  # whom or what this task is about, from the context entries marked in_title (e.g. whose disclosure)
        title, title_en = f"{title}: {about}", f"{title_en}: {about_en or about}"
    assignee_id = _assignee_for(session, route.assignee, org_id)
    for member_id in {assignee_id, _named_member(session, task, org_id)} - {None}:
        # on the team: sees the case's summary, and may consent to their office pre-filling their disclosure
        if not session.scalar(
            select(CaseMember.id).where(CaseMember.case_id == case.id, CaseMember.user_id == member_id)
        ):
            session.add(CaseMember(case_id=case.id, user_id=member_id))
    return WorkItem(
        case_id=case.id,
        task_id=task.task_id,
        element_id=task.element_id,
        process_id=task.process_id,
        title=title[:255],
        title_en=title_en[:255],
        role=role,
        organization_id=org_id,
        assignee_id=assignee_id,
        form=form,
        stage=task.properties.get("stage"),
        priority=PRIORITIES.get((task.properties.get("priority") or "normal").strip(), 1),
        due_at=due_at,
        created_at=now,
        claimed_at=now if assignee_id else None,
        case_reference=case.reference,
        case_title=case.title[:500],
        program_id=case.program_id,
        lead_institution_id=case.lead_institution_id,
    )


def refresh_work_items(
    session: Session, case: Case, flow: CaseWorkflow, now: datetime, before_hooks=None
) -> list[WorkItem]:
    """Make the case's work items match its ready human tasks; returns the items that are new.

    `before_hooks(tasks)`, when given, sees the newly ready tasks just before tejun's hooks may change their
    data (the only tasks they change)."""
    ready = {t.task_id: t for t in flow.ready_human_tasks()}
    # the case's items as plain rows (what `may_work` reads), not ORM objects: only new ones are built
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:  # one round trip: the rows as they were, and the gone ones deleted by the statement's CTE
        rows = session.execute(_ITEM_ROWS_DELETING_GONE, {"case_id": case.id, "ready": list(ready)})
    else:
        rows = session.execute(_ITEM_ROWS, {"case_id": case.id})
    existing = {row.task_id: row for row in rows}
    gone = [row.id for task_id, row in existing.items() if task_id not in ready]
    if gone:
        if not postgres:
            session.execute(_DELETE_ITEMS, {"ids": gone})
        # as an ORM delete would: the session forgets the deleted items it holds (the completed task's item)
        held = session.identity_map
        for key in [k for k in held if k[0] is WorkItem and k[1][0] in gone]:
            session.expunge(held[key])
    created = [build_item(session, case, flow, task, now) for tid, task in ready.items() if tid not in existing]
    session.add_all(created)
    _keep_routes(session, case, created, now)
    new_tasks = [ready[item.task_id] for item in created]
    if before_hooks is not None:
        before_hooks(new_tasks)
    on_tasks_ready(session, case, new_tasks, created)  # screening, evidence shared through a task's context
    # the case's open items after this change, for the use case's answer (`pipeline.outcome`) without a re-read
    open_items(session)[case.id] = [row for task_id, row in existing.items() if task_id in ready] + created
    return created


_items = WorkItem.__table__
_ITEM_ROWS = select(_items.c.id, _items.c.task_id, _items.c.role, _items.c.organization_id,
                    _items.c.assignee_id).where(_items.c.case_id == bindparam("case_id"))
_DELETE_ITEMS = delete(_items).where(_items.c.id.in_(bindparam("ids", expanding=True)))
# PostgreSQL: a data-modifying CTE deletes the items whose task is no longer ready; the SELECT sees the rows
# as they were before it (one snapshot), so the gone ones are known from the rows as well
_ITEM_ROWS_DELETING_GONE = _ITEM_ROWS.add_cte(
    delete(_items).where(_items.c.case_id == bindparam("case_id"),
                         _items.c.task_id.not_in(bindparam("ready", expanding=True)))
    .returning(_items.c.id).cte("gone"))


def open_items(session: Session) -> dict[int, list]:
    """Per case, its open work items as the last routing in this transaction left them (rows or new items);
    whatever changes work items afterwards in the transaction drops its case's entry."""
    return session.info.setdefault("tejun_open_items", {})


def _keep_routes(session: Session, case: Case, created: list[WorkItem], now: datetime) -> None:
    """Remember where each new task went, for after it is done (a retried or migrated case re-routes the same
    task ids: those keep their first route). One statement: an insert that skips the task ids it knows."""
    if not created:
        return
    session.execute(_KEEP_ROUTE[session.get_bind().dialect.name],
                    [{"task_id": i.task_id, "case_id": case.id, "organization_id": i.organization_id,
                      "role": i.role, "routed_at": now} for i in created])


# built once per dialect: building the statement cost more than sending it
_KEEP_ROUTE = {name: insert(TaskRoute.__table__).on_conflict_do_nothing(index_elements=["task_id"])
               for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def refresh_case(case: Case, flow: CaseWorkflow, now: datetime) -> None:
    """Copy what queues and lists show about the case out of the workflow."""
    case.status = "completed" if flow.completed else "running"
    case.error_message = None
    outcome = flow.lookup("outcome")
    if outcome:
        case.outcome = str(outcome)[:32]
    stages = [t.properties.get("stage") for t in flow.ready_human_tasks() if t.properties.get("stage")]
    stage = stages[0] if stages else flow.lookup("stage")
    if stage:
        case.stage = str(stage)[:32]
    level = flow.lookup("risk_level")
    if level:
        case.risk_level = str(level)[:8]
    case.next_wakeup_at = None if flow.completed else flow.next_timer_at()
    case.updated_at = now
