"""Use cases that change a case. Each is one transaction: it fully happens, or nothing is written.

Order inside each: load and authorize, validate, run the engine, then persist the new state, the events and
the work items together. When the model itself fails (a script refused by the sandbox, a wrong expression)
the case is kept, marked `error` with the reason, and the input that got it there is kept too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import clock, followups
from ..auth.actor import Actor
from ..auth.permissions import View, case_view, may_assign, may_send, may_start_application, may_work
from ..auth.roles import parse_lane
from ..designer.store import DEFAULT_SET, latest_published, specs_for
from ..engine.runtime import CaseWorkflow, NoCatcher, TaskNotReady
from ..errors import N_, Conflict, Forbidden, InvalidRequest, NotFound
from ..models import Call, Case, CaseParty, Event, Membership, Organization, User, WorkItem
from ..notifications import notify_assigned
from ..services import Services
from ..task_hooks import before_task_completed, on_task_completed
from ..unit_of_work import unit_of_work
from . import intake, required_forms, submissions
from . import messages as case_messages
from .designation import designated_for
from .forms import validate_submission
from .pipeline import INSTANCE_KEY, CaseChange, Outcome, outcome, record_event
from .queries import visible_work_item

CASE_PROCESS = "research_security_case"


# -- loading ------------------------------------------------------------------------------------------------
def _visible_case(session: Session, actor: Actor, case_id: int, at_least: View = View.PART) -> Case:
    case = session.get(Case, case_id)
    if case is None or case_view(actor, case) < at_least:
        raise NotFound(N_("no such case"))
    return case


def _work_item(session: Session, actor: Actor, task_id: str) -> tuple[WorkItem, Case]:
    """The item and its case as pages show them (`queries.visible_work_item`, one statement)."""
    return visible_work_item(session, actor, str(task_id), when_missing=lambda: _gone(session, actor, str(task_id)))


def _gone(session: Session, actor: Actor, task_id: str) -> None:
    """No open work item: a task someone finished meanwhile is a conflict (the user lost a race), one the actor
    could never see is not found."""
    case_id = session.scalar(
        select(Event.case_id).where(Event.task_id == task_id, Event.action == "task_completed").limit(1)
    )
    case = session.get(Case, case_id) if case_id is not None else None
    if case is not None and case_view(actor, case) >= View.PART:
        raise Conflict(N_("this task was already completed"))
    raise NotFound(N_("no such open task (it may have been completed already)"))


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            N_("the case changed since you loaded it (version %(seen)s, now %(now)s); reload it"),
            params={"seen": expected_version, "now": case.version}, current_version=case.version,
        )


# -- starting cases ---------------------------------------------------------------------------------------
def start_case(
    svc: Services,
    actor: Actor,
    *,
    call_id: int,
    lead_institution_id: int,
    title: str,
    variant: str = "domestic",
    partner_ids: tuple[int, ...] = (),
    erad_project_number: str | None = None,
    project_end_date: date | None = None,
    process_id: str = CASE_PROCESS,
    model_set: str = DEFAULT_SET,
) -> Outcome:
    """The lead institution opens a case for one project under a call, on the newest published model."""
    if variant not in ("domestic", "foreign_joint"):
        raise InvalidRequest(N_("variant must be 'domestic' or 'foreign_joint'"))
    title = (title or "").strip()
    if not title:
        raise InvalidRequest(N_("a case needs a title"))
    intake.check_start(lead_institution_id, partner_ids, project_end_date, actor.locale)
    with unit_of_work(svc) as session:
        call = session.get(Call, call_id)
        lead = session.get(Organization, lead_institution_id)
        if lead is None or lead.kind != "institution" or not may_start_application(actor, lead.id):
            raise NotFound(N_("no such institution among yours"))
        if call is None or call.status != "open":
            raise NotFound(N_("no such open call"))
        version = latest_published(session, model_set)
        if version is None:
            raise InvalidRequest(N_("no published model version: run `flask --app wsgi models sync`"))
        now = clock.now()
        program = call.program
        case = Case(
            reference=f"tmp-{now.timestamp()}-{actor.user_id}",
            kind="application",
            title=title[:500],
            variant=variant,
            funding_agency_id=program.funding_agency_id,
            lead_institution_id=lead.id,
            program_id=program.id,
            call_id=call.id,
            erad_project_number=erad_project_number,
            process_id=process_id,
            model_version_id=version.id,
            created_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
            status="running",
        )
        for partner_id in dict.fromkeys(partner_ids):
            partner = session.get(Organization, partner_id)
            if partner is None or partner.kind != "institution" or partner.id == lead.id:
                raise InvalidRequest(N_("partner %(partner)s is not another institution"),
                                     params={"partner": partner_id})
            case.parties.append(CaseParty(organization_id=partner.id, role="partner"))
        session.add(case)
        session.flush()
        case.reference = f"RS-{now.year}-{case.id:05d}"
        end_date = project_end_date or call.standard_end_date  # the call's standard end unless one is given
        data = {
            "case": {
                "id": case.id,
                "reference": case.reference,
                "title": case.title,
                "variant": variant,
                "fa_organization_id": case.funding_agency_id,
                "lead_organization_id": lead.id,
                "program_id": program.id,
                "call_id": call.id,
                "erad_project_number": erad_project_number,
            },
            # what the call sets (service/cases/designation.py): deadlines, timers and defaults of the case
            "call": {
                "risk_deadline": call.risk_deadline.isoformat(),
                "follow_up_interval": call.follow_up_interval or "P12M",
                "deadline_warning_days": call.deadline_warning_days or 14,
                "review_days": call.review_days or 30,
                "required_forms": list(call.required_forms or []),
                "project_end_date": end_date.isoformat() if end_date else None,
                "areas": [a.code for a in program.areas],
                # only the named projects when only some are designated (F1 reads it)
                "designated": designated_for(program, erad_project_number),
                "designated_projects": [p["project_code"] for p in program.designated_projects or []],
            },
            "program": {"code": program.code, "title": program.title, "title_en": program.title_en},
        }
        try:
            spec, subprocess_specs = specs_for(session, version.id, process_id)
        except LookupError as exc:
            raise InvalidRequest(str(exc)) from None
        flow = CaseWorkflow.create(spec, subprocess_specs, data, time_limit=svc.settings.script_time_limit)
        # the FA sees the institution's work once it is submitted, where the model says it is (submissions.py)
        case.fa_submission = submissions.AWAITING if submissions.declares_submission(spec, subprocess_specs) else None
        change = CaseChange.new(session, case, actor, flow)
        change.record("case_started", data={"title": case.title, "variant": variant, **data})
        change.run(lambda f: f.advance())
        return outcome(session, actor, case)


# -- tasks --------------------------------------------------------------------------------------------------
def complete_task(
    svc: Services, actor: Actor, task_id: str, data: dict, expected_version: int | None = None
) -> Outcome:
    """Submit a task's form: validated against its schema, then the engine runs on to the next wait."""
    with unit_of_work(svc) as session:
        # the item, its case and the stored workflow in one statement (one snapshot)
        item, case, state = visible_work_item(session, actor, str(task_id), with_state=True,
                                              when_missing=lambda: _gone(session, actor, str(task_id)))
        if not may_work(actor, item):
            raise Forbidden(N_("this task is for another role or person"))
        if item.assignee_id not in (None, actor.user_id):
            holder = session.get(User, item.assignee_id)
            raise Conflict(N_("this task is assigned to %(name)s"),
                           params={"name": holder.display_name or holder.username})
        _check_version(case, expected_version)
        clean = validate_submission(session, case, item, data, actor.locale)
        intake.check_roster(session, case, item.form, clean, actor.locale)  # one PI, people of the institutions
        change = CaseChange.of(session, svc, case, actor, state)
        try:  # the workflow may have moved on since the item was read (another submission's commit)
            change.flow.human_task(item.task_id)
        except TaskNotReady:
            raise Conflict(N_("this task was already completed")) from None
        before_task_completed(session, case, item, change.flow, actor, clean)  # screening gate, certification
        completed = change.record("task_completed", task_id=item.task_id, element_id=item.element_id,
                                  data=_with_instance(change.flow, item, clean))
        on_task_completed(session, case, completed)  # the dashboards' figures of the case

        submits: list[str] = []

        def step(f: CaseWorkflow) -> None:
            try:
                task = f.human_task(item.task_id)
                f.complete(item.task_id, clean)
            except TaskNotReady:
                raise Conflict(N_("this task was already completed")) from None
            kind = submissions.submitting(f, task, clean)  # the model names the tasks that submit to the FA
            if kind:
                required_forms.check(session, case, task, clean, actor.locale)  # the call's forms, all there
                submits.append(kind)

        change.run(step)
        if submits and case.status != "error":
            submissions.freeze(change, item, submits[0])  # the package, its event, the FA's view widens
        return outcome(session, actor, case)


def _with_instance(flow: CaseWorkflow, item: WorkItem, clean: dict) -> dict:
    same = [t.task_id for t in flow.ready_human_tasks() if t.element_id == item.element_id]
    if len(same) > 1 and item.task_id in same:
        return {**clean, INSTANCE_KEY: same.index(item.task_id)}
    return clean


def claim_task(svc: Services, actor: Actor, task_id: str) -> Outcome:
    with unit_of_work(svc) as session:
        item, case = _work_item(session, actor, task_id)
        if not may_work(actor, item):
            raise Forbidden(N_("this task is for another role"))
        if item.assignee_id == actor.user_id:
            return Outcome(case.id, case.version, case.status, [item.task_id])
        now = clock.now()
        taken = session.execute(
            update(WorkItem)
            .where(WorkItem.id == item.id, WorkItem.assignee_id.is_(None))
            .values(assignee_id=actor.user_id, claimed_at=now)
        ).rowcount
        if taken != 1:
            raise Conflict(N_("someone else claimed this task first"))
        record_event(session, case, actor, "task_claimed", task_id=item.task_id, element_id=item.element_id)
        return Outcome(case.id, case.version, case.status, [item.task_id])


def release_task(svc: Services, actor: Actor, task_id: str) -> Outcome:
    with unit_of_work(svc) as session:
        item, case = _work_item(session, actor, task_id)
        if item.assignee_id != actor.user_id and not may_assign(actor, item):
            raise Forbidden(N_("only the person working on a task, or a manager, can release it"))
        released = session.execute(
            update(WorkItem)
            .where(WorkItem.id == item.id, WorkItem.assignee_id == item.assignee_id)
            .values(assignee_id=None, claimed_at=None)
        ).rowcount
        if released != 1:
            raise Conflict(N_("the task changed hands meanwhile; reload it"))
        record_event(session, case, actor, "task_released", task_id=item.task_id, element_id=item.element_id,
                data={"from_user_id": item.assignee_id})
        return Outcome(case.id, case.version, case.status, [])


def assign_task(svc: Services, actor: Actor, task_id: str, assignee_id: int) -> Outcome:
    """A manager hands a task to a colleague who holds the task's role in the task's organization."""
    with unit_of_work(svc) as session:
        item, case = _work_item(session, actor, task_id)
        if not may_assign(actor, item):
            raise Forbidden(N_("you may not reassign this task"))
        holds_role = session.scalar(
            select(Membership.id).where(
                Membership.user_id == assignee_id,
                Membership.organization_id == item.organization_id,
                Membership.role.in_([item.role, "security_officer"] if item.role == "researcher" else [item.role]),
            )
        )
        user = session.get(User, assignee_id)
        if user is None or not user.active or holds_role is None:
            raise InvalidRequest(N_("that person does not hold this task's role in its organization"))
        previous = item.assignee_id
        unchanged = WorkItem.assignee_id == previous if previous else WorkItem.assignee_id.is_(None)
        moved = session.execute(
            update(WorkItem)
            .where(WorkItem.id == item.id, unchanged)
            .values(assignee_id=user.id, claimed_at=clock.now())
        ).rowcount
        if moved != 1:
            raise Conflict(N_("the task changed hands meanwhile; reload it"))
        record_event(session, case, actor, "task_assigned", task_id=item.task_id, element_id=item.element_id,
                data={"from_user_id": previous, "to_user_id": user.id, "to_username": user.username})
        if user.id != actor.user_id:
            notify_assigned(session, item, user.id)
        return Outcome(case.id, case.version, case.status, [])


def save_draft(svc: Services, actor: Actor, task_id: str, data: dict) -> None:
    """Keep unsubmitted form data; it is neither validated nor shown to the engine."""
    if not isinstance(data, dict):
        raise InvalidRequest(N_("draft data must be a JSON object"))
    with unit_of_work(svc) as session:
        item, _case = _work_item(session, actor, task_id)
        if not may_work(actor, item):
            raise Forbidden(N_("this task is for another role or person"))
        if item.assignee_id not in (None, actor.user_id):
            raise Conflict(N_("this task is assigned to someone else"))
        item.draft = data
        item.draft_saved_at = clock.now()
        item.draft_by_id = actor.user_id


# -- case-level actions -------------------------------------------------------------------------------------
def send_message(svc: Services, actor: Actor, case_id: int, name: str, payload: dict | None = None) -> Outcome:
    """Deliver a message the case is waiting for (withdraw, member added, ...), if the actor may send it.

    Who may send which message, and the schema its payload must fit, come from one registry
    (`service/cases/messages.py`); the lane of the waiting event is checked as well. Problems point into the
    message as the API takes it (`/name`, `/payload/...`)."""
    with unit_of_work(svc) as session:
        case = _visible_case(session, actor, case_id)
        message = case_messages.registry(svc.settings.forms_dir).get(name)
        if message is None:
            raise case_messages.unknown(name)
        if message.system_only and not actor.is_system:
            raise Forbidden(N_("'%(name)s' is sent by tejun itself, not by people"), params={"name": name})
        if case.status == "completed":
            raise Conflict(N_("the case has ended"))
        if case.status != "running":
            raise Conflict(N_("the case stopped with an error; an administrator has to restart it first"))
        change = CaseChange.of(session, svc, case, actor)
        waiting = [m for m in change.flow.waiting_messages() if m.name == name]
        if not waiting and name in followups.HELD_BY_PEOPLE and case.kind == "application" \
                and not actor.is_system:
            # a roster change or the FA's request, recorded any time: held until the case can take it
            if not message.may_send(actor, case):
                raise Forbidden(N_("you may not send '%(name)s' to this case"), params={"name": name})
            followups.hold_change(session, case, actor, name, dict(message.check({} if payload is None else payload)))
            return replace(outcome(session, actor, case), held=True)
        if not waiting:
            raise Conflict(N_("the case is not waiting for '%(name)s' now"), params={"name": name})
        lanes = {m.lane for m in waiting}
        if not actor.is_system and not (message.may_send(actor, case) and any(
            lane and may_send(actor, case, parse_lane(lane)[0]) for lane in lanes
        )):
            raise Forbidden(N_("you may not send '%(name)s' to this case"), params={"name": name})
        clean = dict(message.check({} if payload is None else payload))
        change.record("message_delivered", data={"message": name, "payload": clean})

        def step(f: CaseWorkflow) -> None:
            try:
                f.deliver_message(name, clean)
            except NoCatcher:
                raise Conflict(N_("the case is not waiting for '%(name)s' now"), params={"name": name}) from None

        change.run(step)
        return outcome(session, actor, case)


def fire_timers(session: Session, svc: Services, actor: Actor, case_id: int) -> Outcome | None:
    """Let due timers fire and the engine run on, in the caller's transaction (`session`): the worker claims due
    cases and fires each inside a unit of work of its own (service/worker/timers.py)."""
    case = session.get(Case, case_id)
    if case is None or case.status != "running":
        return None
    CaseChange.of(session, svc, case, actor).run(lambda f: f.advance(), action="timer_fired")
    now = clock.now()
    if case.next_wakeup_at is not None and case.next_wakeup_at <= now:
        # the engine did not fire a timer that looked due (it compares strictly): look again shortly
        case.next_wakeup_at = now + timedelta(seconds=30)
    session.flush()
    return Outcome(case.id, case.version, case.status, [], case.error_message)


def retry_case(svc: Services, actor: Actor, case_id: int) -> Outcome:
    """After fixing what stopped a case (see its error), let the engine try again.

    A system administrator may restart any case in error (the admin page lists them, as operations need,
    without giving a view of the case); anyone else is refused, or told nothing of a case they cannot see.
    """
    with unit_of_work(svc) as session:
        if not (actor.has("system_admin") or actor.is_system):
            _visible_case(session, actor, case_id, View.SUMMARY)
            raise Forbidden(N_("only a system administrator can restart a case in error"))
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(N_("no such case"))
        if case.status != "error":
            raise Conflict(N_("the case is not in error"))
        change = CaseChange.of(session, svc, case, actor)
        change.record("case_retried")
        change.run(lambda f: f.advance())
        return outcome(session, actor, case, with_tasks=False)
