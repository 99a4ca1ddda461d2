"""Designating a specified R&D programme (§2 step 1): a case of its own, run by the funding agency.

`start_designation` opens a `program_designation` case (kind `designation`: FA staff only, no institution).
The model drafts the designation, has the FA manager approve it and publishes the call; when the case
completes designated, `apply_when_completed` (called by `pipeline.CaseChange.run` after every engine run) turns its
final data into the programme and its call, so that institutions can apply under it:

* the `Program` with the drafted code (created, or updated when this funding agency already has a programme
  with that code): designated, its scope and rationale, its areas taken from the *current* critical
  technology areas list;
* its `Call` (created, or updated when the programme already has a call with the same title): risk-management
  deadline, follow-up interval, days of warning before the deadline, the FA's review days, the required forms and
  the standard project end date, status open. `commands.start_case` puts them into every case under the call.

Designating only some projects (`some_projects`) keeps their codes (`Program.designated_projects`): a case is
designated when its e-Rad project number is one of them (`designated_for`), and F1 follows.

A ministry may designate as well as the funding agency (「国又はFAが指定する」): `start_designation` with
`ministry_id`, by that ministry's officer; the ministry designates, the funding agency publishes the call, and
the programme records who designated it (`Program.designated_by_id`).

Both are recorded as a `designation_applied` event on the case. The case's `outcome` becomes the model's
`designation_status` (`designated` or `not_designated`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import may_start_designation
from ..designer.store import DEFAULT_SET, latest_published, specs_for
from ..engine.runtime import CaseWorkflow, EngineError
from ..errors import N_, InvalidRequest, NotFound
from ..models import Call, Case, Organization, Program, TechnologyArea, TechnologyAreaList
from ..services import Services
from ..unit_of_work import unit_of_work
from .pipeline import CaseChange, Outcome, outcome

DESIGNATION_PROCESS = "program_designation"
SCOPES = {"whole_program": "whole", "some_projects": "projects"}


def may_designate_as_ministry(actor: Actor, ministry_id: int) -> bool:
    """A ministry's officer may designate a programme for that ministry (「国又はFAが指定する」)."""
    return actor.has("ministry_officer", ministry_id)


def start_designation(
    svc: Services,
    actor: Actor,
    *,
    funding_agency_id: int,
    title: str,
    ministry_id: int | None = None,
    process_id: str = DESIGNATION_PROCESS,
    model_set: str = DEFAULT_SET,
) -> Outcome:
    """FA staff open a designation case on the newest published model; the first task is the draft.

    With `ministry_id`, that ministry's officer opens it for a programme of the funding agency: the ministry
    designates (its officer's task), the agency publishes the call."""
    title = (title or "").strip()
    if not title:
        raise InvalidRequest(N_("a case needs a title"))
    with unit_of_work(svc) as session:
        agency = session.get(Organization, funding_agency_id)
        ministry = session.get(Organization, ministry_id) if ministry_id is not None else None
        if ministry_id is not None:
            if ministry is None or ministry.kind != "ministry" or not may_designate_as_ministry(actor, ministry.id):
                raise NotFound(N_("no such ministry among yours"))
            if agency is None or agency.kind != "funding_agency":
                raise NotFound(N_("no such funding agency"))
        elif agency is None or agency.kind != "funding_agency" or not may_start_designation(actor, agency.id):
            raise NotFound(N_("no such funding agency among yours"))
        version = latest_published(session, model_set)
        if version is None:
            raise InvalidRequest("no published model version: run `flask --app wsgi models sync`")
        now = clock.now()
        case = Case(
            reference=f"tmp-{now.timestamp()}-{actor.user_id}",
            kind="designation",
            title=title[:500],
            variant="domestic",
            funding_agency_id=agency.id,
            lead_institution_id=None,
            process_id=process_id,
            model_version_id=version.id,
            created_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
            status="running",
        )
        session.add(case)
        session.flush()
        case.reference = f"PD-{now.year}-{case.id:05d}"
        data = {"case": {"id": case.id, "reference": case.reference, "title": case.title, "kind": "designation",
                         "fa_organization_id": agency.id,
                         "designated_by": "ministry" if ministry else "funding_agency"}}
        if ministry is not None:
            data["ministry_organization_id"] = ministry.id  # the lane ministry_officer@ministry
        try:
            spec, subprocess_specs = specs_for(session, version.id, process_id)
        except LookupError as exc:
            raise InvalidRequest(str(exc)) from None
        flow = CaseWorkflow.create(spec, subprocess_specs, data, time_limit=svc.settings.script_time_limit)
        change = CaseChange.new(session, case, actor, flow)
        change.record("case_started", data={"title": case.title, **data})
        change.run(lambda f: f.advance())
        return outcome(session, actor, case)


def apply_when_completed(change: CaseChange) -> None:
    """Once a designation case has completed, put its outcome into effect (once; see the module docstring).

    Raises `EngineError` when the data cannot be applied (the programme code belongs to another funding
    agency): the case then stops in error with that reason, and is applied when an administrator retries it.
    """
    session, case, flow = change.session, change.case, change.flow
    if case.kind != "designation" or not flow.completed or case.call_id is not None:
        return
    status = flow.lookup("designation_status")
    if status:
        case.outcome = str(status)[:32]
    if status != "designated" or not change.writes:  # a replay takes the outcome, applies nothing
        return
    try:
        program_data, call_data = _checked(session, case, flow.lookup("program"), flow.lookup("call"))
    except (KeyError, TypeError, ValueError) as exc:
        raise EngineError(f"the designation cannot be applied: {exc}", "finalise_designation") from exc
    program, created = _program(session, case, program_data, flow.lookup("ministry_organization_id"))
    call = _call(session, program, call_data)
    case.program_id, case.call_id = program.id, call.id
    change.record("designation_applied", data={
        "program_id": program.id,
        "program_code": program.code,
        "program_created": created,
        "areas": [area.code for area in program.areas],
        "call_id": call.id,
        "call_code": call.code,
        "risk_deadline": call.risk_deadline.isoformat(),
        "follow_up_interval": call.follow_up_interval,
        "designation_scope": program.designation_scope,
        "designated_projects": [p["project_code"] for p in program.designated_projects or []],
        "designated_by_id": program.designated_by_id,
        "deadline_warning_days": call.deadline_warning_days,
        "review_days": call.review_days,
        "required_forms": call.required_forms,
        "standard_end_date": call.standard_end_date.isoformat() if call.standard_end_date else None,
    })


def _checked(session: Session, case: Case, program: dict, call: dict) -> tuple[dict, dict]:
    """The model's `program` and `call` records with what must be there checked, before anything changes."""
    program = {**program, "code": str(program["code"]).strip(), "title": str(program["title"])}
    if not program["code"] or not program["title"].strip():
        raise ValueError("the programme needs a code and a title")
    owner = session.scalar(select(Program.funding_agency_id).where(Program.code == program["code"]))
    if owner is not None and owner != case.funding_agency_id:
        raise ValueError(f"programme code {program['code']!r} belongs to another funding agency")
    call = {**call, "title": str(call["title"]), "risk_deadline": date.fromisoformat(str(call["risk_deadline"]))}
    return program, call


def _program(session: Session, case: Case, data: dict, ministry_id) -> tuple[Program, bool]:
    code = data["code"]
    program = session.scalars(select(Program).where(Program.code == code)).first()
    created = program is None
    now = clock.now()
    if created:
        program = Program(code=code, funding_agency_id=case.funding_agency_id, created_at=now)
        session.add(program)
    program.title = data["title"][:255]
    program.title_en = str(data.get("title_en") or "")[:255]
    program.designated = True
    program.designation_scope = SCOPES.get(data.get("designation_scope"), "whole")
    program.designated_projects = [
        {"project_code": str(p.get("project_code") or "").strip(), "title": str(p.get("title") or "")}
        for p in data.get("designated_projects") or [] if str(p.get("project_code") or "").strip()
    ] if program.designation_scope == "projects" else None
    by_ministry = data.get("designated_by") == "ministry" and ministry_id is not None
    program.designated_by_id = int(ministry_id) if by_ministry else case.funding_agency_id
    program.rationale = str(data.get("rationale") or "")
    program.designated_at = now
    codes = [str(area) for area in data.get("areas") or []]
    program.areas = list(session.scalars(
        select(TechnologyArea)
        .join(TechnologyAreaList)
        .where(TechnologyAreaList.is_current.is_(True), TechnologyArea.code.in_(codes))
        .order_by(TechnologyArea.position)
    ).all())
    session.flush()
    return program, created


def _call(session: Session, program: Program, data: dict) -> Call:
    title = data["title"][:255]
    call = next((c for c in program.calls if c.title == title), None)
    now = clock.now()
    if call is None:
        call = Call(program_id=program.id, code=_new_call_code(session, program), title=title, created_at=now)
        session.add(call)
    call.risk_deadline = data["risk_deadline"]
    call.follow_up_interval = str(data.get("follow_up_interval") or "P12M")
    call.deadline_warning_days = int(data.get("deadline_warning_days") or 14)
    call.review_days = int(data.get("review_days") or 30)
    call.required_forms = [str(form) for form in data.get("required_forms") or []]
    end = data.get("project_end_date")
    call.standard_end_date = date.fromisoformat(str(end)) if end else None
    call.status = "open"
    call.published_at = now
    session.flush()
    return call


def designated_for(program: Program, erad_project_number: str | None) -> bool:
    """Is a project of this programme designated: all are when the whole programme is, else those named."""
    if not program.designated:
        return False
    if program.designation_scope != "projects":
        return True
    codes = {p.get("project_code") for p in program.designated_projects or []}
    return bool(erad_project_number) and erad_project_number in codes


def _new_call_code(session: Session, program: Program) -> str:
    number = len(program.calls) + 1
    while True:
        code = f"{program.code}-{number:02d}"[:64]
        if session.scalar(select(Call.id).where(Call.code == code)) is None:
            return code
        number += 1
