"""Designation details take effect (issue 18, point 6): designating only some projects marks only those cases
(F1 follows); a call's warning days, review days, required forms and standard end date drive its cases; a
ministry designates as well as a funding agency (「国又はFAが指定する」)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from service.audit.replay import replay_and_compare
from service.cases import commands
from service.cases.designation import start_designation
from service.errors import NotFound, ValidationFailed
from service.forms import references
from service.models import Call, Case, Program
from tests.web.helpers import bearer, post, post_json, sign_in

from .drive import (
    ASSESSMENT_AS_PROPOSED,
    MANAGED_DATA,
    Driver,
    approve,
    feasible,
    iso,
    mitigation_plan,
    roster,
    screening,
    today,
)


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def draft(code: str, *, projects=None, **call) -> dict:
    designation = {"scope": "some_projects" if projects else "whole_program", "technology_areas": ["9"],
                   "rationale": "量子技術を含むため指定する"}
    if projects:
        designation["projects"] = [{"project_code": p, "title": f"課題 {p}"} for p in projects]
    return {"program_designation": {
        "program": {"code": code, "title": "量子ネットワーク基盤プログラム", "title_en": "Quantum network programme"},
        "designation": designation,
        "call": {"title": "令和9年度 公募", "risk_deadline": "2027-03-31", "follow_up_interval": "P12M", **call},
    }}


def designate(drive: Driver, code: str, **draft_args) -> tuple[int, int]:
    """The FA's designation, approved and published: (designation case, its call)."""
    case_id = start_designation(drive.svc, drive.actor("fa_officer"), funding_agency_id=drive.world.fa_id,
                                title="指定").case_id
    drive.do(case_id, "draft_program_designation", "fa_officer", draft(code, **draft_args))
    drive.do(case_id, "approve_program_designation", "fa_manager", {"designation_approval": {
        "decision": "approve", "decided_on": iso(today())}})
    drive.do(case_id, "publish_call", "fa_officer", {"call_publication": {"published_on": iso(today())}})
    return case_id, drive.case(case_id).call_id


def apply(drive: Driver, call_id: int, erad: str | None = None, **kwargs) -> int:
    return commands.start_case(drive.svc, drive.actor("security"), call_id=call_id,
                               lead_institution_id=drive.world.lead_id, title="量子中継の研究",
                               erad_project_number=erad, **kwargs).case_id


def to_assessment(drive: Driver, case_id: int, *, erad: str | None = None) -> None:
    """Roster (no critical area named, not export-controlled, dual-use: F1 is MEDIUM unless designated) and ①."""
    team = roster(drive.world, partner=False)
    team["roster"]["project"]["technology_areas"] = []
    if erad:
        team["roster"]["project"]["erad_project_number"] = erad
    drive.do(case_id, "fix_team_roster", "security", team)
    drive.disclosures(case_id)
    drive.do(case_id, "record_managed_data", "security", MANAGED_DATA)
    item = drive.item(case_id, "record_screening_results")
    drive.do(case_id, "record_screening_results", "security",
             screening(drive.task_data(case_id, item.task_id)["screening_results"]["results"]))


def replays_identically(svc, *case_ids: int) -> None:
    with svc.db.reader() as session:
        for case_id in case_ids:
            result = replay_and_compare(session, session.get(Case, case_id))
            assert result.identical, (case_id, result.differences)


def test_designating_some_projects_marks_only_their_cases_and_f1_follows(drive, world, svc):
    designation_id, call_id = designate(drive, f"{world.tag}-SP", projects=["JP27-0001", "JP27-0002"])
    with svc.db.reader() as session:
        program = session.get(Call, call_id).program
        assert program.designation_scope == "projects"
        assert [p["project_code"] for p in program.designated_projects] == ["JP27-0001", "JP27-0002"]

    named = apply(drive, call_id, "JP27-0001")
    other = apply(drive, call_id, "JP27-0099")
    unnumbered = apply(drive, call_id)  # named later, in the roster
    assert drive.value(named, "call")["designated"] is True
    assert drive.value(other, "call")["designated"] is False
    assert drive.value(unnumbered, "call")["designated"] is False

    to_assessment(drive, named)
    to_assessment(drive, other)
    to_assessment(drive, unnumbered, erad="JP27-0002")
    assert drive.value(named, "technology_sensitivity") == "HIGH"
    assert drive.value(other, "technology_sensitivity") == "MEDIUM"  # the programme's areas are not its own
    assert drive.value(unnumbered, "technology_sensitivity") == "HIGH"
    replays_identically(svc, designation_id, named, other, unnumbered)


def test_the_calls_days_forms_and_end_date_drive_its_cases(drive, world, svc, travel):
    designation_id, call_id = designate(
        drive, f"{world.tag}-CD", deadline_warning_days=7, review_days=10, project_end_date="2028-03-31",
        required_forms=["managed_data", "mitigation_plan"])
    with svc.db.reader() as session:
        call = session.get(Call, call_id)
        assert (call.deadline_warning_days, call.review_days, call.required_forms, call.standard_end_date) == (
            7, 10, ["managed_data", "mitigation_plan"], date(2028, 3, 31))
    (applied,) = drive.events(designation_id, "designation_applied")
    assert applied.data["review_days"] == 10 and applied.data["standard_end_date"] == "2028-03-31"

    case_id = apply(drive, call_id)
    assert drive.value(case_id, "call")["project_end_date"] == "2028-03-31"  # the call's standard end
    assert drive.value(case_id, "deadline_warning_at") == "2027-03-24T09:00:00+09:00"  # 7 days before
    to_assessment(drive, case_id)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    # ② needs no mitigation, yet the call requires a plan: ③ runs
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M1"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher", feasible("mitigation_feasibility"))
    drive.do(case_id, "institutional_approval", "admin", approve())
    review = drive.item(case_id, "review_submission")
    assert review.due_at == datetime(2026, 4, 11, 14, 59, 59, tzinfo=UTC)  # 10 days after submission, JST
    assert drive.task_data(case_id, review.task_id)["required_forms_missing"] == []  # the FA checks again

    # an application giving its own end date keeps it
    own = apply(drive, call_id, project_end_date=date(2027, 9, 30))
    assert drive.value(own, "call")["project_end_date"] == "2027-09-30"
    replays_identically(svc, designation_id, case_id, own)


def test_a_ministry_designates_and_the_funding_agency_publishes_the_call(drive, world, svc):
    with pytest.raises(NotFound):  # only the ministry's own officer
        start_designation(svc, drive.actor("fa_officer"), funding_agency_id=world.fa_id, title="指定",
                          ministry_id=world.ministry_id)
    case_id = start_designation(svc, drive.actor("ministry"), funding_agency_id=world.fa_id, title="府省による指定",
                                ministry_id=world.ministry_id).case_id
    item = drive.item(case_id, "draft_ministry_designation")
    assert (item.role, item.organization_id) == ("ministry_officer", world.ministry_id)
    assert drive.ready(case_id) == ["draft_ministry_designation"]  # not the FA's draft
    drive.do(case_id, "draft_ministry_designation", "ministry", draft(f"{world.tag}-MIN"))

    publish = drive.item(case_id, "publish_call")  # no FA approval of the ministry's designation
    assert (publish.role, publish.organization_id) == ("fa_officer", world.fa_id)
    drive.do(case_id, "publish_call", "fa_officer", {"call_publication": {"published_on": iso(today())}})
    case = drive.case(case_id)
    assert (case.status, case.outcome) == ("completed", "designated")
    with svc.db.reader() as session:
        program = session.get(Program, case.program_id)
        assert (program.funding_agency_id, program.designated_by_id, program.designated) == (
            world.fa_id, world.ministry_id, True)
    assert drive.value(apply(drive, case.call_id), "call")["designated"] is True
    replays_identically(svc, case_id)


def test_the_institution_cannot_submit_until_the_forms_the_call_requires_are_there(app, drive, world, svc):
    designation_id, call_id = designate(drive, f"{world.tag}-RF", required_forms=["managed_data"])
    case_id = apply(drive, call_id)
    drive.do(case_id, "fix_team_roster", "security", roster(world, partner=False))
    drive.identification(case_id, partner=False, managed_data={"managed_data_inventory": {"items": []}})
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    item = drive.item(case_id, "institutional_approval")
    version = drive.case(case_id).version

    # the approver sees beside the form what is still missing
    api = app.test_client()
    task = api.get(f"/api/v1/tasks/{item.task_id}", headers=bearer(api, world, "admin")).get_json()
    assert {c["path"]: c["value"] for c in task["context"]}["required_forms_missing"] == ["managed_data"]

    # approving is refused, naming the form: in the use case, the API and the form page
    with pytest.raises(ValidationFailed) as caught:
        commands.complete_task(svc, replace(drive.actor("admin"), locale="en"), item.task_id, approve(),
                               expected_version=version)
    assert [(e["pointer"], e["form"], e["message"]) for e in caught.value.errors] == [(
        "", "managed_data", "The call requires the form \u201cManaged data inventory\u201d, which this case does "
        "not have yet: it cannot be submitted to the FA until it is there.")]
    response = api.post(f"/api/v1/tasks/{item.task_id}/complete", headers=bearer(api, world, "admin"),
                        json={"data": approve(), "expected_version": version})
    assert response.status_code == 422
    assert [(e["pointer"], e["form"]) for e in response.get_json()["errors"]] == [("", "managed_data")]
    page = sign_in(app, world, "admin")
    shown = re.search(r'data-path="required_forms_missing">(.*?)</div>',
                      page.get(f"/tasks/{item.task_id}").get_data(as_text=True), re.S).group(1)
    assert "管理対象データの管理状況" in shown
    response = post_json(page, f"/tasks/{item.task_id}/submit", {"data": approve(), "expected_version": version})
    assert response.status_code == 422
    assert [(e["pointer"], e["message"]) for e in response.get_json()["errors"]] == [
        ("", "公募が求める様式「管理対象データの管理状況」がまだありません。そろうまでFAへ提出できません。")]
    case = drive.case(case_id)
    assert (case.version, case.fa_submission) == (version, "awaiting")  # nothing written
    assert drive.events(case_id, "submission_frozen") == []

    # returned to ①, the office records the managed data; then the submission goes through
    drive.do(case_id, "institutional_approval", "admin", {"institutional_approval": {
        "decision": "return", "return_to": "identification", "approved_on": iso(today()),
        "comments": "管理対象データを記録すること"}})
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    item = drive.item(case_id, "institutional_approval")
    assert drive.task_data(case_id, item.task_id)["required_forms_missing"] == []
    drive.do(case_id, "institutional_approval", "admin", approve())
    assert drive.case(case_id).fa_submission == "submitted"
    review = drive.item(case_id, "review_submission")
    assert drive.task_data(case_id, review.task_id)["required_forms_missing"] == []
    replays_identically(svc, designation_id, case_id)


def test_a_ministry_officer_designates_from_the_page_and_the_api(app, drive, world, svc):
    """Issue 18 point 6: the ministry's officer finds the designation page from the case list, the ministry is
    theirs (no choice to make), the agency whose programme it is one of all; the API takes `ministry_id`."""
    page = sign_in(app, world, "ministry")
    assert 'href="/designations/new"' in page.get("/cases").get_data(as_text=True)
    form = page.get("/designations/new").get_data(as_text=True)
    assert f'name="ministry_id" value="{world.ministry_id}"' in form  # their own ministry, fixed
    assert f'value="{world.fa_id}"' in form  # an agency they hold no role in: any agency's programme
    started = post(page, "/designations/new", {"ministry_id": world.ministry_id, "funding_agency_id": world.fa_id,
                                                "title": "府省がページから指定"})
    assert started.status_code == 302 and started.headers["Location"].startswith("/tasks/")
    refused = post(page, "/designations/new", {"ministry_id": world.ministry_id + 999,
                                                "funding_agency_id": world.fa_id, "title": "他府省として"})
    assert refused.status_code == 422  # not their ministry: nothing started

    client = app.test_client()
    body = {"funding_agency_id": world.fa_id, "title": "府省がAPIで指定", "ministry_id": world.ministry_id}
    for who in ("fa_officer", "security"):  # the FA may not designate as the ministry; nobody else either
        assert client.post("/api/v1/designations", json=body, headers=bearer(client, world, who)).status_code == 404
    response = client.post("/api/v1/designations", json=body, headers=bearer(client, world, "ministry"))
    assert response.status_code == 201, response.get_json()

    for title in ("府省がページから指定", "府省がAPIで指定"):
        with svc.db.reader() as session:
            case_id = session.scalars(select(Case.id).where(Case.title == title)).one()
        assert drive.ready(case_id) == ["draft_ministry_designation"]
        drive.do(case_id, "draft_ministry_designation", "ministry", draft(f"{world.tag}-{case_id}"))
        drive.do(case_id, "publish_call", "fa_officer", {"call_publication": {"published_on": iso(today())}})
        case = drive.case(case_id)
        assert (case.status, case.outcome) == ("completed", "designated")
        with svc.db.reader() as session:
            assert session.get(Program, case.program_id).designated_by_id == world.ministry_id
        replays_identically(svc, case_id)
