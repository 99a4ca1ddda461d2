"""Foreign joint research (issue 18, point 5; docs/procedure.md §9.5): the measures the foreign institution requests
become items of the mitigation plan, their status is reported back to it, and what was sent is on record.

Driven through the service layer: the lead's office records the request, ③ runs for it even at L0 with the
requested measures in the plan, the PI confirms, the FA accepts, the office notifies the foreign partner with each
request's status and a document; who sees the record, the dashboards' planned measures, and replay.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.attachments import store_upload
from service.audit.replay import replay_and_compare
from service.cases.queries import task_form
from service.consultations import foreign
from service.forms import references
from service.models import Case, CaseMeasure
from tests.web.helpers import sign_in

from .drive import ASSESSMENT_AS_PROPOSED, Driver, approve, iso, today


def request() -> dict:
    return {"foreign_partner_request": {
        "foreign_partner_name": "Z University", "country": "ドイツ", "requested_on": iso(today()),
        "requested_measures": [{"description": "共同研究区域への入室管理", "mapped_measure": "M1"},
                               {"description": "成果の発表前に相手方と共有する", "mapped_measure": "M9"}]}}


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def test_requested_measures_join_the_plan_and_their_status_goes_back_to_the_foreign_partner(drive, svc, world, app):
    case_id = drive.start(partner=False, variant="foreign_joint")
    drive.roster(case_id, partner=False)
    drive.do(case_id, "record_foreign_partner_request", "security", request())
    requested = drive.value(case_id, "foreign_requested_measures")
    assert [(r["request_id"], r["measure"], r["plan_status"]) for r in requested] == [
        ("FR1", "M1", "requested"), ("FR2", "M9", "requested")]

    # ① and ② find nothing (L0, no mitigation needed), yet ③ runs: the foreign side asked for measures
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    plan = drive.item(case_id, "plan_mitigation")
    with svc.db.reader() as session:
        shown = task_form(session, drive.actor("security"), plan.task_id)["data"]["mitigation_plan"]["measures"]
    # the plan opens with one item per request: its measure, the request, the partner as target
    assert [(m["measure"], m["description"], m["target"]) for m in shown] == [
        ("M1", "[FR1] 共同研究区域への入室管理", "Z University"),
        ("M9", "[FR2] 成果の発表前に相手方と共有する", "Z University")]
    # the office completes FR1, does not adopt FR2 (explained to the partner later), adds its own M5
    due = iso(today() + timedelta(days=90))
    drive.do(case_id, "plan_mitigation", "security", {"mitigation_plan": {"measures": [
        dict(shown[0], owner="研究推進部", due_date=due),
        {"measure": "M5", "target": "M1", "owner": "研究推進部", "due_date": due}]}})
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    assert [(r["request_id"], r["plan_status"]) for r in drive.value(case_id, "foreign_requested_measures")] == [
        ("FR1", "planned"), ("FR2", "not_planned")]
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.accept(case_id)
    assert {m["measure"] for m in drive.value(case_id, "agreed_measures")} == {"M1", "M5"}
    with svc.db.reader() as session:  # the dashboards count the requested measure as planned, like any other
        planned = session.scalars(select(CaseMeasure.code).where(CaseMeasure.case_id == case_id,
                                                                 CaseMeasure.kind == "planned")).all()
    assert sorted(planned) == ["M1", "M5"]

    # the notification to the foreign side starts from each request's status in the plan
    notify = drive.item(case_id, "notify_foreign_partner")
    with svc.db.reader() as session:
        start = task_form(session, drive.actor("security"), notify.task_id)["data"]["foreign_partner_notification"]
    assert [(r["request_id"], r["status"]) for r in start["measure_status"]] == [("FR1", "agreed"),
                                                                                 ("FR2", "not_agreed")]
    assert start["measures_communicated"] == ["M1", "M5"]
    letter = store_upload(svc, drive.actor("security"), notify.task_id, "通知書.pdf",
                          io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    status = [dict(start["measure_status"][0]),
              dict(start["measure_status"][1], note="発表前の共有は契約の知財条項（M13）で扱う")]
    drive.do(case_id, "notify_foreign_partner", "security", {"foreign_partner_notification": dict(
        start, notified_on=iso(today()), sent_to="Z University Research Office", method="email",
        measure_status=status, documents=[{"id": letter.id, "name": letter.name}])})

    # the record: what was sent, when, by whom; each request with its plan status and what was reported
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        found = foreign.record(session, drive.actor("security"), case)
        assert foreign.record(session, drive.actor("fa_officer"), case) is not None  # the FA, after submission
        assert foreign.record(session, drive.actor("researcher"), case) is None  # the team sees the summary only
    assert (found.partner, found.requested_on) == ("Z University", iso(today()))
    assert [(r.request_id, r.measure, r.plan_status, r.agreed, r.reported) for r in found.requests] == [
        ("FR1", "M1", "planned", True, "agreed"), ("FR2", "M9", "not_planned", False, "not_agreed")]
    (sent,) = found.sent
    assert (sent.by, sent.sent_to, sent.method, sent.notified_on) == (
        world.username("security"), "Z University Research Office", "email", iso(today()))
    assert sent.documents == [{"id": letter.id, "name": "通知書.pdf"}] and sent.measures_communicated == ["M1", "M5"]
    assert drive.case(case_id).outcome == "accepted" and drive.items(case_id) == []
    # the case page shows it to the lead institution, not to the team's researchers
    page = sign_in(app, world, "security").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "外国の相手方からの要請" in page and "Z University Research Office" in page and "計画に含めていない" in page
    team_page = sign_in(app, world, "researcher").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "外国の相手方への送付" not in team_page

    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_a_domestic_case_is_unchanged_by_the_foreign_requests(drive):
    """No request, no forced ③: a domestic case at L0 goes straight to the institution's approval."""
    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    assert drive.ready(case_id) == ["institutional_approval"]
    assert "link_foreign_requests" not in drive.engine_trail(case_id)


def test_each_follow_up_round_reports_the_requested_measures_to_the_foreign_partner_again(drive, svc, world, app):
    """At each follow-up round of a foreign joint research case the office tells the foreign side again where
    each measure it requested stands, pre-filled from the round's report; each report is on record."""
    from .drive import FOLLOW_UP_CONFIRMED

    case_id = drive.start(partner=False, variant="foreign_joint")
    drive.roster(case_id, partner=False)
    drive.do(case_id, "record_foreign_partner_request", "security", request())
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    plan = drive.item(case_id, "plan_mitigation")
    with svc.db.reader() as session:
        shown = task_form(session, drive.actor("security"), plan.task_id)["data"]["mitigation_plan"]["measures"]
    due = iso(today() + timedelta(days=90))
    drive.do(case_id, "plan_mitigation", "security", {"mitigation_plan": {"measures": [
        dict(shown[0], owner="研究推進部", due_date=due)]}})  # FR1 (M1) in the plan, FR2 (M9) not
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.accept(case_id)
    first = drive.value(case_id, "foreign_partner_notification")
    drive.do(case_id, "notify_foreign_partner", "security", {"foreign_partner_notification": dict(
        first, notified_on=iso(today()), sent_to="Z University Research Office", method="email")})

    # round 1 (the FA asks for it): M1 still in progress, reported as agreed
    drive.send(case_id, "fa_officer", "follow_up_requested", {"trigger": {"kind": "fa_request", "reason": "定期確認"}})
    drive.do(case_id, "follow_up_report", "security", {"follow_up_report": {
        "trigger_kind": "fa_request", "reassessment_required": False,
        "measures_status": [{"measure": "M1", "status": "in_progress"}]}})
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    report = drive.item(case_id, "report_to_foreign_partner")
    assert (report.role, report.organization_id) == ("security_officer", world.lead_id)
    with svc.db.reader() as session:
        start = task_form(session, drive.actor("security"), report.task_id)["data"]["foreign_partner_notification"]
    assert [(r["request_id"], r["status"]) for r in start["measure_status"]] == [("FR1", "agreed"),
                                                                                 ("FR2", "not_agreed")]
    drive.do(case_id, "report_to_foreign_partner", "security", {"foreign_partner_notification": dict(
        start, notified_on=iso(today()), sent_to="Z University Research Office", method="letter")})
    assert drive.items(case_id, "report_to_foreign_partner") == []

    # round 2: M1 implemented, with its evidence as the explanation sent
    drive.send(case_id, "fa_officer", "follow_up_requested", {"trigger": {"kind": "fa_request", "reason": "再確認"}})
    drive.do(case_id, "follow_up_report", "security", {"follow_up_report": {
        "trigger_kind": "fa_request", "reassessment_required": False,
        "measures_status": [{"measure": "M1", "status": "implemented", "evidence": "入退室記録を確認"}]}})
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    report = drive.item(case_id, "report_to_foreign_partner")
    with svc.db.reader() as session:
        start = task_form(session, drive.actor("security"), report.task_id)["data"]["foreign_partner_notification"]
    assert [(r["request_id"], r["status"], r.get("note")) for r in start["measure_status"]] == [
        ("FR1", "implemented", "入退室記録を確認"), ("FR2", "not_agreed", None)]
    drive.do(case_id, "report_to_foreign_partner", "security",
             {"foreign_partner_notification": dict(start, notified_on=iso(today()), sent_to="Z University PI",
                                                   method="meeting")})

    # the record: three sendings, what, when, by whom; the last status reported per request
    with svc.db.reader() as session:
        found = foreign.record(session, drive.actor("fa_officer"), session.get(Case, case_id))
    assert [(s.by, s.method, s.sent_to) for s in found.sent] == [
        (world.username("security"), "email", "Z University Research Office"),
        (world.username("security"), "letter", "Z University Research Office"),
        (world.username("security"), "meeting", "Z University PI")]
    assert [(r.request_id, r.reported) for r in found.requests] == [("FR1", "implemented"), ("FR2", "not_agreed")]
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_a_domestic_follow_up_round_reports_to_no_foreign_partner(drive):
    from .drive import FOLLOW_UP_CONFIRMED, follow_up_report

    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.accept(case_id)
    drive.send(case_id, "fa_officer", "follow_up_requested", {"trigger": {"kind": "fa_request", "reason": "確認"}})
    drive.do(case_id, "follow_up_report", "security", follow_up_report("fa_request"))
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    assert drive.items(case_id, "report_to_foreign_partner") == []
    assert "prepare_foreign_follow_up_report" not in drive.engine_trail(case_id)
    assert "record_follow_up" in drive.engine_trail(case_id)
