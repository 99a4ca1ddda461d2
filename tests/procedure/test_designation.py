"""Designating a programme end to end: the FA's designation case, and the programme and call it puts into
effect, under which an institution can then apply."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from service import clock
from service.auth.actor import SYSTEM
from service.auth.admin import ensure_organization
from service.cases import commands
from service.cases.designation import start_designation
from service.cases.queries import list_cases
from service.errors import NotFound
from service.forms import references
from service.models import Program
from service.unit_of_work import unit_of_work

from .drive import Driver, iso, today


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def draft(code: str, *, areas=("9", "3"), scope: str = "whole_program", call_title: str = "令和9年度 公募") -> dict:
    designation = {"scope": scope, "technology_areas": list(areas), "rationale": "量子技術を含むため指定する"}
    if scope == "some_projects":
        designation["projects"] = [{"project_code": "Q-01", "title": "量子中継器"}]
    return {"program_designation": {
        "program": {"code": code, "title": "量子ネットワーク基盤プログラム", "title_en": "Quantum network programme"},
        "designation": designation,
        "call": {"title": call_title, "risk_deadline": "2027-03-31", "follow_up_interval": "P6M"},
    }}


def decision(value: str, comments: str | None = None) -> dict:
    answer = {"decision": value, "decided_on": iso(today())}
    if comments:
        answer["comments"] = comments
    return {"designation_approval": answer}


def start(drive: Driver, who: str = "fa_officer") -> int:
    outcome = start_designation(drive.svc, drive.actor(who), funding_agency_id=drive.world.fa_id,
                                title="量子ネットワーク基盤プログラムの指定")
    assert outcome.error is None
    return outcome.case_id


def program(svc, code: str) -> Program | None:
    with svc.db.reader() as session:
        found = session.scalars(select(Program).where(Program.code == code)).first()
        if found is not None:
            _ = [a.code for a in found.areas], list(found.calls)
        return found


def test_a_designated_programme_and_its_call_take_effect_and_take_applications(drive, world, svc):
    code = f"{world.tag}-QN"
    case_id = start(drive)
    case = drive.case(case_id)
    assert (case.kind, case.status, case.stage, case.lead_institution_id) == ("designation", "running",
                                                                              "designation", None)
    assert case.reference.startswith("PD-") and case.funding_agency_id == world.fa_id
    item = drive.item(case_id, "draft_program_designation")
    assert (item.role, item.organization_id, item.assignee_id) == ("fa_officer", world.fa_id, None)

    drive.do(case_id, "draft_program_designation", "fa_officer", draft(code))
    approval = drive.item(case_id, "approve_program_designation")
    assert (approval.role, approval.organization_id) == ("fa_manager", world.fa_id)
    # the manager sends it back once: the officer drafts again
    drive.do(case_id, "approve_program_designation", "fa_manager", decision("return", "対象領域を見直すこと"))
    drive.do(case_id, "draft_program_designation", "fa_officer", draft(code, areas=("9", "3", "10")))
    drive.do(case_id, "approve_program_designation", "fa_manager", decision("approve"))
    publish = drive.item(case_id, "publish_call")
    assert (publish.role, publish.organization_id) == ("fa_officer", world.fa_id)
    assert program(svc, code) is None  # nothing takes effect before the call is published
    drive.do(case_id, "publish_call", "fa_officer", {"call_publication": {"published_on": iso(today())}})

    case = drive.case(case_id)
    assert (case.status, case.outcome) == ("completed", "designated")
    made = program(svc, code)
    assert made.funding_agency_id == world.fa_id and made.designated
    assert (made.title, made.title_en, made.designation_scope) == (
        "量子ネットワーク基盤プログラム", "Quantum network programme", "whole")
    assert made.rationale == "量子技術を含むため指定する"
    assert sorted(a.code for a in made.areas) == ["10", "3", "9"]
    (call,) = made.calls
    assert (call.title, call.risk_deadline, call.follow_up_interval, call.status) == (
        "令和9年度 公募", date(2027, 3, 31), "P6M", "open")
    assert (case.program_id, case.call_id) == (made.id, call.id)
    (applied,) = drive.events(case_id, "designation_applied")
    assert applied.data["program_id"] == made.id and applied.data["call_code"] == call.code
    assert applied.data["program_created"] is True and applied.actor_name == world.username("fa_officer")

    # the lead institution applies under the new call: the case carries its deadline, interval and areas
    outcome = commands.start_case(svc, drive.actor("security"), call_id=call.id, lead_institution_id=world.lead_id,
                                  title="量子中継の研究")
    application = drive.case(outcome.case_id)
    assert (application.program_id, application.call_id, application.funding_agency_id) == (
        made.id, call.id, world.fa_id)
    assert drive.value(outcome.case_id, "call") == {
        "risk_deadline": "2027-03-31", "follow_up_interval": "P6M", "project_end_date": None,
        "deadline_warning_days": 14, "review_days": 30, "required_forms": [],
        "areas": ["3", "9", "10"], "designated": True, "designated_projects": []}
    roster = drive.item(outcome.case_id, "fix_team_roster")
    assert roster.due_at == datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC)


def test_a_redesignation_updates_the_agencys_own_programme(drive, world, svc):
    with svc.db.reader() as session:
        existing = session.get(Program, world.program_id)
        code, calls_before = existing.code, len(existing.calls)
    case_id = start(drive, "fa_manager")
    drive.do(case_id, "draft_program_designation", "fa_officer",
             draft(code, areas=("14",), scope="some_projects", call_title="追加公募"))
    drive.do(case_id, "approve_program_designation", "fa_manager", decision("approve"))
    drive.do(case_id, "publish_call", "fa_officer", {"call_publication": {"published_on": iso(today())}})

    updated = program(svc, code)
    assert updated.id == world.program_id
    assert (updated.designation_scope, [a.code for a in updated.areas]) == ("projects", ["14"])
    assert len(updated.calls) == calls_before + 1
    new_call = updated.calls[-1]
    assert (new_call.title, new_call.code, new_call.status) == ("追加公募", f"{code}-{calls_before + 1:02d}", "open")
    (applied,) = drive.events(case_id, "designation_applied")
    assert applied.data["program_created"] is False


def test_not_designated_changes_no_programme(drive, world, svc):
    code = f"{world.tag}-NO"
    case_id = start(drive)
    drive.do(case_id, "draft_program_designation", "fa_officer", draft(code))
    drive.do(case_id, "approve_program_designation", "fa_manager", decision("reject", "指定の要件を満たさない"))
    case = drive.case(case_id)
    assert (case.status, case.outcome, case.program_id, case.call_id) == ("completed", "not_designated", None, None)
    assert drive.items(case_id) == [] and program(svc, code) is None
    assert drive.events(case_id, "designation_applied") == []
    assert drive.value(case_id, "not_designated_reason") == "指定の要件を満たさない"


def test_another_agencys_programme_code_stops_the_case_with_the_reason(drive, world, svc):
    code = f"{world.tag}-TAKEN"
    with unit_of_work(svc) as session:
        other = ensure_organization(session, SYSTEM, code=f"{world.tag}-fa2", name="別の機構", name_en="Other agency",
                                    kind="funding_agency")
        session.add(Program(code=code, title="他機関のプログラム", funding_agency_id=other.id, created_at=clock.now()))
    case_id = start(drive)
    drive.do(case_id, "draft_program_designation", "fa_officer", draft(code))
    drive.do(case_id, "approve_program_designation", "fa_manager", decision("approve"))
    outcome = commands.complete_task(svc, drive.actor("fa_officer"), drive.item(case_id, "publish_call").task_id,
                                     {"call_publication": {"published_on": iso(today())}})
    assert outcome.status == "error" and "belongs to another funding agency" in outcome.error
    taken = program(svc, code)
    assert taken.funding_agency_id != world.fa_id and taken.calls == []
    assert drive.case(case_id).call_id is None


def test_only_the_funding_agencys_staff_start_a_designation(drive, world, svc):
    for who in ("security", "admin", "ministry", "researcher", "auditor"):
        with pytest.raises(NotFound):
            start_designation(svc, drive.actor(who), funding_agency_id=world.fa_id, title="指定")
    # an institution is not a funding agency, even for its own staff
    with pytest.raises(NotFound):
        start_designation(svc, drive.actor("security"), funding_agency_id=world.lead_id, title="指定")
    # the designation case is the agency's: the institutions do not see it
    case_id = start(drive)
    with svc.db.reader() as session:
        assert case_id in {c.id for c in list_cases(session, drive.actor("fa_manager"), per_page=500).items}
        assert case_id not in {c.id for c in list_cases(session, drive.actor("security"), per_page=500).items}
