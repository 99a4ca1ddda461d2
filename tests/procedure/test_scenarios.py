"""The research-security procedure (bpmn/, forms/) run end to end through the service layer.

One test per path of the procedure (docs/procedure.md §2 and §7.4). Each says who got which task (role,
organization, person), with which data, and where the case ends (status, outcome, stage, risk level,
events). The people are the test world's: the lead institution's security officer starts the case, each
researcher fills their own disclosure, the partner's staff do the partner's part, the FA reviews, the timer
worker fires deadlines and follow-ups while the clock travels.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime

import pytest

from service.auth.actor import SYSTEM
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.cases import commands
from service.cases.queries import task_form
from service.errors import Forbidden, NotFound
from service.forms import references
from service.models import CaseState
from service.queues.queries import TABS, counts, queue
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD

from .drive import (
    ADDITIONAL_APPROVED,
    ASSESSMENT_AS_PROPOSED,
    FOLLOW_UP_CONFIRMED,
    MANAGED_DATA_UNCHANGED,
    OUTCOME_APPROVED,
    PARTNER_MANAGED_DATA,
    Driver,
    approve,
    disclosure,
    fa_review,
    feasible,
    follow_up_report,
    iso,
    member,
    mitigation_plan,
    partner_assessment_review,
    partner_due_diligence,
    screening,
    today,
)

# the world's call: risk-management deadline 2027-01-29; the travelling clock starts 2026-04-01 18:00 JST
DEADLINE_END = datetime(2027, 1, 29, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST, the due moment of the application
TRIGGERS = {"member_added", "partner_added", "disclosure_changed", "screening_hit", "follow_up_requested"}
HIGH, URGENT = 2, 3


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()  # the world's new organizations are choices in the forms (partner, ministry) from now
    return Driver(svc, world)


def routed(item, *, role: str, organization_id: int, assignee_id: int | None = None, stage: str | None = None):
    """Assert where a work item went: role, organization, person (None = the role's queue) and stage."""
    got = (item.role, item.organization_id, item.assignee_id)
    assert got == (role, organization_id, assignee_id), f"{item.element_id} routed to {got}"
    if stage is not None:
        assert item.stage == stage, f"{item.element_id} has stage {item.stage}"


def visible_element_ids(svc, actor) -> set[tuple[int, str]]:
    """Every (case id, element id) in any queue tab of `actor`."""
    with svc.db.reader() as session:
        return {(i.case_id, i.element_id) for tab in TABS for i in queue(session, actor, tab, per_page=500).items}


def finished(case, *, outcome: str, stage: str | None = None):
    assert (case.status, case.outcome) == ("completed", outcome)
    assert case.next_wakeup_at is None
    if stage is not None:
        assert case.stage == stage


# -- accepted -------------------------------------------------------------------------------------------------
def test_accepted_without_mitigation_routes_every_step_to_the_right_people(drive, world):
    case_id = drive.start()
    (roster_item,) = drive.items(case_id)
    assert roster_item.element_id == "fix_team_roster"
    routed(roster_item, role="security_officer", organization_id=world.lead_id, stage="roster")
    assert roster_item.due_at == DEADLINE_END
    case = drive.case(case_id)
    assert (case.status, case.stage, case.outcome, case.kind) == ("running", "roster", None, "application")
    # the warning timer waits: 14 days before the deadline, 09:00 in Japan
    assert case.next_wakeup_at == datetime(2027, 1, 15, 0, 0, tzinfo=UTC)

    drive.roster(case_id)
    items = {(i.element_id, i.assignee_id): i for i in drive.items(case_id)}
    lead, partner = world.lead_id, world.partner_id
    researcher, researcher2 = world.users["researcher"], world.users["researcher2"]
    routed(items["fill_disclosure", researcher], role="researcher", organization_id=lead, assignee_id=researcher,
           stage="identification")
    routed(items["fill_disclosure", researcher2], role="researcher", organization_id=lead, assignee_id=researcher2)
    routed(items["fill_disclosure_on_behalf", None], role="security_officer", organization_id=lead)
    routed(items["fill_partner_member_disclosure", world.users["partner_researcher"]], role="researcher",
           organization_id=partner, assignee_id=world.users["partner_researcher"])
    routed(items["fill_partner_member_disclosure_on_behalf", None], role="security_officer", organization_id=partner)
    routed(items["record_managed_data", None], role="security_officer", organization_id=lead)
    # the partner records its own managed data (its own risk management: test_partner_risk_management.py)
    routed(items["record_partner_managed_data", None], role="security_officer", organization_id=partner)
    assert len(items) == 7
    assert all(i.due_at == DEADLINE_END for i in items.values())
    # each disclosure carries its member, with the id the roster normalisation gave them
    members = {drive.task_data(case_id, i.task_id)["member"]["member_id"]: drive.task_data(case_id, i.task_id)[
        "member"]["name"] for i in items.values() if "disclosure" in i.element_id}
    assert members == {"M1": "山田 太郎", "M2": "佐藤 花子", "M3": "鈴木 一郎", "P1-M1": "田中 次郎",
                       "P1-M2": "高橋 三郎"}
    assert drive.case(case_id).stage == "identification"
    assert {(p.organization_id, p.role) for p in drive.case(case_id).parties} == {(partner, "partner")}

    done = drive.identification(case_id)
    # a researcher's own disclosure is completed by that researcher; the student's by the office
    assert done["山田 太郎"].item.assignee_id == researcher
    by_actor = {e.element_id: e.actor_name for e in drive.events(case_id, "task_completed")}
    assert by_actor["fill_disclosure_on_behalf"] == world.username("security")
    assert by_actor["partner_due_diligence_review"] == world.username("partner_security")

    review = drive.item(case_id, "review_risk_assessment")
    routed(review, role="security_officer", organization_id=lead, stage="assessment")
    proposal = drive.task_data(case_id, review.task_id)
    assert proposal["proposed_level"] == "L0"
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    # ③ is skipped at L0 without mitigation: the institution approves next
    approval = drive.item(case_id, "institutional_approval")
    routed(approval, role="institution_admin", organization_id=lead, stage="approval")
    assert approval.priority == HIGH
    drive.do(case_id, "institutional_approval", "admin", approve())

    review = drive.item(case_id, "review_submission")
    routed(review, role="fa_officer", organization_id=world.fa_id, stage="fa_review")
    case = drive.case(case_id)
    assert (case.stage, case.risk_level) == ("fa_review", "L0")
    # submitting cancelled the deadline timers
    assert case.next_wakeup_at is None
    submission = drive.value(case_id, "submission")
    assert submission["submitted_on"] == "2026-04-01" and submission["submitted_late"] is False
    assert submission["risk_level"] == "L0"

    drive.do(case_id, "review_submission", "fa_officer", fa_review("accept", comments="適切"))
    decision = drive.item(case_id, "approve_review_outcome")
    routed(decision, role="fa_manager", organization_id=world.fa_id, stage="fa_review")
    drive.do(case_id, "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage, case.risk_level) == ("running", "accepted", "follow_up", "L0")
    assert drive.items(case_id) == []
    # waiting for the first yearly follow-up (accepted 2026-04-01, 09:00 JST a year later) or a trigger
    assert case.next_wakeup_at == datetime(2027, 4, 1, 0, 0, tzinfo=UTC)
    assert drive.waiting_messages(case_id) == TRIGGERS
    fa_decision = drive.value(case_id, "fa_decision")
    assert fa_decision["outcome"] == "accepted" and fa_decision["additional_mitigation_rounds"] == 0
    assert drive.value(case_id, "agreed_measures") == []
    trail = drive.engine_trail(case_id)
    assert trail.index("submit_to_fa") < trail.index("record_acceptance") < trail.index("start_follow_up_monitoring")
    assert "call_risk_mitigation" not in trail
    actions = [e.action for e in drive.events(case_id)]
    # 13 steps, and the partner's own managed data and assessment
    assert actions[0] == "case_started" and actions.count("task_completed") == 15


def test_accepted_with_mitigation_the_pi_confirms_the_plan(drive, world):
    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    # a disciplinary history (F8, L2) raised one level by the designated programme (F1 HIGH): L3
    drive.identification(case_id, partner=False, disciplinary="佐藤 花子")
    review = drive.item(case_id, "review_risk_assessment")
    assert drive.task_data(case_id, review.task_id)["proposed_level"] == "L3"
    drive.do(case_id, "review_risk_assessment", "security", {"assessment_review": {"override": False,
                                                                                   "mitigation_needed": True}})
    assert drive.case(case_id).risk_level == "L3"
    plan = drive.item(case_id, "plan_mitigation")
    routed(plan, role="security_officer", organization_id=world.lead_id, stage="mitigation")
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M2"))
    feasibility = drive.item(case_id, "confirm_mitigation_feasibility")
    # the PI personally (pi_username = the roster's PI)
    routed(feasibility, role="researcher", organization_id=world.lead_id, assignee_id=world.users["researcher"],
           stage="mitigation")
    with pytest.raises(NotFound):  # another researcher on the team does not even see it
        commands.complete_task(drive.svc, drive.actor("researcher2"), feasibility.task_id,
                               {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    drive.do(case_id, "institutional_approval", "admin", approve())
    assert drive.value(case_id, "submission")["mitigation_needed"] is True
    drive.accept(case_id)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage, case.risk_level) == ("running", "accepted", "follow_up", "L3")
    (measure,) = drive.value(case_id, "agreed_measures")
    assert (measure["measure"], measure["target"]) == ("M5", "M2")


@pytest.mark.parametrize("rounds", [1, 3])
def test_accepted_after_additional_mitigation_rounds(drive, world, rounds):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    for round_no in range(1, rounds + 1):
        drive.do(case_id, "review_submission", "fa_officer", fa_review(
            "request_additional_mitigation", response_due_date="2026-06-30",
            requested_measures=[{"measure": "M7", "detail": f"第{round_no}回: 多要素認証の導入"}]))
        plan = drive.item(case_id, "plan_additional_mitigation")
        routed(plan, role="security_officer", organization_id=world.lead_id, stage="additional_mitigation")
        assert plan.priority == HIGH
        assert plan.due_at == datetime(2026, 6, 30, 14, 59, 59, tzinfo=UTC)
        request = drive.task_data(case_id, plan.task_id)["additional_mitigation_request"]
        assert request["round"] == round_no
        assert request["requested_measures"] == [{"measure": "M7", "detail": f"第{round_no}回: 多要素認証の導入"}]
        assert drive.case(case_id).stage == "additional_mitigation"
        drive.do(case_id, "plan_additional_mitigation", "security", {"additional_mitigation": {
            "response_summary": f"第{round_no}回の追加措置",
            "measures": [{"measure": "M7", "target": "project", "owner": "情報基盤センター",
                          "due_date": f"2026-{6 + round_no:02d}-30"}]}})
        # the PI confirms the added measures are feasible, again in every round
        confirm = drive.item(case_id, "confirm_additional_feasibility")
        routed(confirm, role="researcher", organization_id=world.lead_id, assignee_id=world.users["researcher"],
               stage="additional_mitigation")
        drive.do(case_id, "confirm_additional_feasibility", "researcher", feasible())
        resubmit = drive.item(case_id, "approve_additional_mitigation")
        routed(resubmit, role="institution_admin", organization_id=world.lead_id, stage="additional_mitigation")
        drive.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)
        # resubmitted: the FA reviews again
        routed(drive.item(case_id, "review_submission"), role="fa_officer", organization_id=world.fa_id,
               stage="fa_review")
    drive.accept(case_id)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage, case.risk_level) == ("running", "accepted", "follow_up", "L0")
    fa_decision = drive.value(case_id, "fa_decision")
    assert fa_decision["additional_mitigation_rounds"] == rounds
    assert fa_decision["review_rounds"] == rounds + 1
    # every round's measures were added to the plan and are what the FA agreed to
    agreed = drive.value(case_id, "agreed_measures")
    assert [m["due_date"] for m in agreed] == [f"2026-{6 + n:02d}-30" for n in range(1, rounds + 1)]
    assert len(drive.value(case_id, "additional_mitigation_log")) == rounds
    completed = [e.element_id for e in drive.events(case_id, "task_completed")]
    assert completed.count("plan_additional_mitigation") == rounds
    assert completed.count("review_submission") == rounds + 1


# -- FA review: a ministry, the FA's questions, not accepted ---------------------------------------------------
def test_fa_consults_the_worlds_ministry_and_only_its_officer_sees_the_question(drive, world, svc):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    # another ministry with an officer of its own: the question is not theirs
    with unit_of_work(svc) as session:
        other = ensure_organization(session, SYSTEM, code=f"{world.tag}-min2", name=f"{world.tag} 別の省",
                                    name_en="Another ministry", kind="ministry")
        officer, _ = ensure_user(session, SYSTEM, username=world.username("ministry2"), display_name="別の省",
                                 email=f"{world.username('ministry2')}@example.jp", password=PASSWORD)
        grant_role(session, SYSTEM, officer, other, "ministry_officer", "organization")
        world.users["ministry2"] = officer.id

    drive.do(case_id, "review_submission", "fa_officer", fa_review(
        "consult_ministry", ministry_organization_id=world.ministry_id, consultation_question="輸出管理上の懸念は？",
        response_due_date="2026-05-15"))
    consultation = drive.item(case_id, "answer_ministry_consultation")
    routed(consultation, role="ministry_officer", organization_id=world.ministry_id, stage="consultation")
    assert drive.task_data(case_id, consultation.task_id)["ministry_organization_id"] == world.ministry_id
    assert drive.case(case_id).stage == "consultation"
    assert {(p.organization_id, p.role) for p in drive.case(case_id).parties} == {(world.ministry_id, "ministry")}

    with svc.db.reader() as session:
        assert queue(session, drive.actor("ministry"), "team").items[0].element_id == "answer_ministry_consultation"
        assert counts(session, drive.actor("ministry"))["team"] == 1
    for who in ("fa_officer", "fa_manager", "security", "admin", "researcher", "partner_security", "ministry2"):
        assert (case_id, "answer_ministry_consultation") not in visible_element_ids(svc, drive.actor(who)), who
    with pytest.raises(NotFound), svc.db.reader() as session:  # not the other ministry's to open
        task_form(session, drive.actor("ministry2"), consultation.task_id)
    with pytest.raises(Forbidden):  # the FA sees the case in full, but may not answer for the ministry
        commands.complete_task(svc, drive.actor("fa_officer"), consultation.task_id,
                               {"ministry_consultation": {"opinion": "no_objection", "answer": "該当しない"}})

    drive.do(case_id, "answer_ministry_consultation", "ministry",
             {"ministry_consultation": {"opinion": "no_objection", "answer": "該当しない"}})
    routed(drive.item(case_id, "review_submission"), role="fa_officer", organization_id=world.fa_id,
           stage="fa_review")
    (entry,) = drive.value(case_id, "consultations")
    assert entry["ministry_organization_id"] == world.ministry_id
    assert entry["question"] == "輸出管理上の懸念は？" and entry["answer"]["opinion"] == "no_objection"
    assert [e.actor_name for e in drive.events(case_id, "task_completed")
            if e.element_id == "answer_ministry_consultation"] == [world.username("ministry")]
    drive.accept(case_id)
    assert drive.case(case_id).outcome == "accepted"


def test_fa_asks_for_information_and_the_security_office_answers(drive, world):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    drive.do(case_id, "review_submission", "fa_officer",
             fa_review("request_information", questions="管理対象データの保存場所を教えてください"))
    answer = drive.item(case_id, "answer_information_request")
    routed(answer, role="security_officer", organization_id=world.lead_id, stage="fa_review")
    assert answer.priority == HIGH
    drive.do(case_id, "answer_information_request", "security", {"information_response": {"answer": "学内NAS"}})
    (request,) = drive.value(case_id, "information_requests")
    assert request["response"] == {"answer": "学内NAS"}
    assert drive.ready(case_id) == ["review_submission"]


def test_not_accepted(drive, world):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    drive.do(case_id, "review_submission", "fa_officer", fa_review("not_accept", reasons="軽減措置が不十分"))
    decision = drive.item(case_id, "approve_review_outcome")
    routed(decision, role="fa_manager", organization_id=world.fa_id)
    assert decision.priority == HIGH
    drive.do(case_id, "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)

    case = drive.case(case_id)
    finished(case, outcome="not_accepted", stage="fa_review")
    assert case.risk_level == "L0"
    assert drive.items(case_id) == [] and drive.waiting_messages(case_id) == set()
    assert drive.value(case_id, "not_accepted_reasons") == "軽減措置が不十分"
    assert "record_non_acceptance" in drive.engine_trail(case_id)
    assert "start_follow_up_monitoring" not in drive.engine_trail(case_id)


def test_fa_manager_sends_the_outcome_back_to_the_officer(drive, world):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    drive.do(case_id, "review_submission", "fa_officer", fa_review("not_accept", reasons="不十分"))
    drive.do(case_id, "approve_review_outcome", "fa_manager",
             {"fa_outcome_approval": {"approved": False, "comments": "再検討を"}})
    routed(drive.item(case_id, "review_submission"), role="fa_officer", organization_id=world.fa_id)
    assert drive.case(case_id).outcome is None


def test_foreign_joint_research_records_the_request_and_notifies_the_partner(drive, world):
    case_id = drive.start(partner=False, variant="foreign_joint")
    drive.roster(case_id, partner=False)
    request = drive.item(case_id, "record_foreign_partner_request")
    routed(request, role="security_officer", organization_id=world.lead_id, stage="roster")
    # identification waits for the foreign partner's request to be recorded
    assert drive.ready(case_id) == ["record_foreign_partner_request"]
    drive.do(case_id, "record_foreign_partner_request", "security", {"foreign_partner_request": {
        "foreign_partner_name": "Z University", "requested_on": iso(today()),
        "requested_measures": [{"description": "アクセス管理", "mapped_measure": "M1"}]}})
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    # the requested measure joins the plan, so ③ runs even at L0 (tests/procedure/test_foreign_measures.py)
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("project"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.accept(case_id)
    notify = drive.item(case_id, "notify_foreign_partner")
    routed(notify, role="security_officer", organization_id=world.lead_id, stage="follow_up")
    assert drive.case(case_id).outcome == "accepted" and drive.case(case_id).next_wakeup_at is None
    drive.do(case_id, "notify_foreign_partner", "security",
             {"foreign_partner_notification": {"notified_on": iso(today()), "sent_to": "Z University",
                                               "method": "email"}})
    case = drive.case(case_id)
    assert (case.status, case.variant, case.outcome, case.stage) == ("running", "foreign_joint", "accepted",
                                                                     "follow_up")
    assert drive.items(case_id) == [] and drive.waiting_messages(case_id) == TRIGGERS
    assert case.next_wakeup_at == datetime(2027, 4, 1, 0, 0, tzinfo=UTC)


# -- the partner institution's own part ------------------------------------------------------------------------
def test_partner_due_diligence_is_done_by_the_partners_staff_and_stays_theirs(drive, world, svc):
    case_id = drive.start()
    drive.roster(case_id)
    lead_security, partner_security = drive.actor("security"), drive.actor("partner_security")
    lead_before = {element for (cid, element) in visible_element_ids(svc, lead_security) if cid == case_id}
    partner_before = {element for (cid, element) in visible_element_ids(svc, partner_security) if cid == case_id}
    assert lead_before == {"fill_disclosure", "fill_disclosure_on_behalf", "record_managed_data"}
    assert partner_before == {"fill_partner_member_disclosure", "fill_partner_member_disclosure_on_behalf",
                              "record_partner_managed_data"}
    with svc.db.reader() as session:
        lead_counts = counts(session, lead_security)
        # team: the student's disclosure and the managed data; org: also the two researchers' own disclosures
        assert (lead_counts["mine"], lead_counts["team"], lead_counts["org"]) == (0, 2, 4)
        partner_counts = counts(session, partner_security)
        # team: the participant's disclosure and the partner's managed data; org: also the Co-PI's own
        assert (partner_counts["mine"], partner_counts["team"], partner_counts["org"]) == (0, 2, 3)

    # the partner's staff cannot open or do the lead's tasks, nor the lead's staff the partner's
    managed = drive.item(case_id, "record_managed_data")
    with pytest.raises(NotFound), svc.db.reader() as session:
        task_form(session, partner_security, managed.task_id)
    with pytest.raises(NotFound):
        commands.complete_task(svc, partner_security, managed.task_id, {})
    on_behalf = drive.item(case_id, "fill_partner_member_disclosure_on_behalf")
    # a partner's disclosure task is the partner's own: not even visible to the lead's full view of the case
    with pytest.raises(NotFound):
        commands.complete_task(svc, lead_security, on_behalf.task_id, disclosure("高橋 三郎"))

    # the partner's researcher and office disclose; then the partner's office does the due diligence
    drive.do(case_id, "fill_partner_member_disclosure", "partner_researcher", disclosure("田中 次郎"))
    drive.do(case_id, "fill_partner_member_disclosure_on_behalf", "partner_security", disclosure("高橋 三郎"))
    drive.do(case_id, "record_partner_managed_data", "partner_security", PARTNER_MANAGED_DATA)
    review = drive.item(case_id, "partner_due_diligence_review")
    routed(review, role="security_officer", organization_id=world.partner_id, stage="identification")
    data = drive.task_data(case_id, review.task_id)
    assert data["partner_organization_id"] == world.partner_id
    assert data["partner"]["partner_id"] == "P1"
    assert {(cid, e) for (cid, e) in visible_element_ids(svc, partner_security) if cid == case_id} == {
        (case_id, "partner_due_diligence_review")}
    assert (case_id, "partner_due_diligence_review") not in visible_element_ids(svc, lead_security)
    with svc.db.reader() as session:
        assert all(i.element_id != "partner_due_diligence_review"
                   for tab in TABS for i in queue(session, lead_security, tab).items)
    drive.do(case_id, "partner_due_diligence_review", "partner_security", partner_due_diligence())
    drive.do(case_id, "review_partner_assessment", "partner_security", partner_assessment_review("L1"))

    # the lead gets the partner's result (and its Co-PI's disclosure) for its own assessment
    drive.disclosures(case_id)
    drive.do(case_id, "record_managed_data", "security", {"managed_data_inventory": {"items": []}})
    screening_item = drive.item(case_id, "record_screening_results")
    rows = drive.task_data(case_id, screening_item.task_id)["screening_results"]["results"]
    assert [r["subject_id"] for r in rows] == ["M1", "M2", "M3", "P1", "P1-M1"]
    drive.do(case_id, "record_screening_results", "security", screening(rows))
    (result,) = drive.value(case_id, "partner_results")
    assert result["organization_id"] == world.partner_id
    assert result["due_diligence"]["team_assessment"]["level"] == "L1"
    # the Co-PI's disclosure (the lead assesses the Co-PI); the participant's stays with the partner
    assert sorted(d["member_id"] for d in result["disclosures"]) == ["P1-M1"]
    review = drive.item(case_id, "review_risk_assessment")
    findings = {f["subject_id"]: f for f in drive.task_data(case_id, review.task_id)["findings"]}
    assert {"P1", "P1-M1", "P1:team"} <= set(findings)
    by_actor = {e.element_id: e.actor_name for e in drive.events(case_id, "task_completed")}
    assert by_actor["fill_partner_member_disclosure"] == world.username("partner_researcher")
    assert by_actor["partner_due_diligence_review"] == world.username("partner_security")


# -- withdrawn, deadline ---------------------------------------------------------------------------------------
def test_withdrawn_during_identification_cancels_everyones_tasks(drive, world, svc):
    case_id = drive.start()
    drive.roster(case_id)
    drive.do(case_id, "record_managed_data", "security", {"managed_data_inventory": {"items": []}})
    assert {i.organization_id for i in drive.items(case_id)} == {world.lead_id, world.partner_id}
    assert "withdraw" in drive.waiting_messages(case_id)
    # only the lead institution's security office withdraws
    for who in ("partner_security", "researcher", "fa_officer"):
        with pytest.raises((Forbidden, NotFound)):
            commands.send_message(svc, drive.actor(who), case_id, "withdraw", {"withdraw_reason": "x"})
    drive.send(case_id, "security", "withdraw", {"withdraw_reason": "研究計画の変更"})

    case = drive.case(case_id)
    # it shows where it stood when withdrawn
    finished(case, outcome="withdrawn", stage="identification")
    assert case.risk_level is None
    assert drive.items(case_id) == []
    withdrawal = drive.value(case_id, "withdrawal")
    assert withdrawal == {"reason": "研究計画の変更", "withdrawn_on": "2026-04-01"}
    (message,) = drive.events(case_id, "message_delivered")
    assert (message.actor_name, message.data["message"]) == (world.username("security"), "withdraw")
    assert drive.engine_trail(case_id)[-2:] == ["record_withdrawal", "case_end_withdrawn"]
    assert not {element for (cid, element) in visible_element_ids(svc, drive.actor("partner_security"))
                if cid == case_id}


def test_withdrawn_while_the_fa_reviews(drive, world):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    drive.send(case_id, "security", "withdraw", {"withdraw_reason": "辞退"})
    case = drive.case(case_id)
    finished(case, outcome="withdrawn", stage="fa_review")
    assert case.risk_level == "L0"
    assert drive.items(case_id) == [] and drive.value(case_id, "withdrawal")["reason"] == "辞退"


def test_deadline_passed_warns_then_the_fa_decides_not_to_accept(drive, world, travel):
    case_id = drive.start()
    drive.roster(case_id)
    open_work = set(drive.ready(case_id))

    # two weeks before the deadline, 09:00 JST: the office is warned
    travel.moment = datetime(2027, 1, 14, 23, 59, tzinfo=UTC)
    assert case_id not in drive.tick()
    travel.moment = datetime(2027, 1, 15, 0, 0, 1, tzinfo=UTC)
    assert case_id in drive.tick()
    warning = drive.item(case_id, "acknowledge_deadline_warning")
    routed(warning, role="security_officer", organization_id=world.lead_id)
    assert warning.priority == HIGH and warning.due_at == DEADLINE_END
    assert drive.case(case_id).stage == "identification"
    drive.do(case_id, "acknowledge_deadline_warning", "security",
             {"deadline_warning_acknowledgement": {"acknowledged": True}})
    assert set(drive.ready(case_id)) == open_work
    assert drive.case(case_id).next_wakeup_at == DEADLINE_END

    # the deadline day ends with nothing submitted: the FA decides
    travel.moment = datetime(2027, 1, 29, 14, 59, 58, tzinfo=UTC)
    assert case_id not in drive.tick()
    travel.moment = datetime(2027, 1, 29, 15, 0, 1, tzinfo=UTC)
    assert case_id in drive.tick()
    late = drive.item(case_id, "decide_late_case")
    routed(late, role="fa_officer", organization_id=world.fa_id, stage="fa_review")
    assert late.priority == URGENT
    assert set(drive.ready(case_id)) == open_work | {"decide_late_case"}  # the institution may still work
    fired = drive.events(case_id, "timer_fired")
    assert [e.actor_name for e in fired] == ["system", "system"]
    assert "risk_deadline_passed" in fired[-1].data["completed"]

    drive.do(case_id, "decide_late_case", "fa_officer",
             {"late_case_decision": {"decision": "not_accept", "reason": "期限までに提出なし"}})
    case = drive.case(case_id)
    finished(case, outcome="not_accepted", stage="fa_review")
    assert case.risk_level is None
    assert drive.items(case_id) == []
    assert drive.value(case_id, "risk_management_result") == "late_not_accepted"
    assert "call_fa_review" not in drive.engine_trail(case_id)


def test_deadline_extended_then_submitted_in_time(drive, world, travel):
    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    travel.moment = datetime(2027, 1, 29, 15, 0, 1, tzinfo=UTC)
    drive.tick()
    drive.do(case_id, "acknowledge_deadline_warning", "security",
             {"deadline_warning_acknowledgement": {"acknowledged": True}})
    drive.do(case_id, "decide_late_case", "fa_officer", {"late_case_decision": {
        "decision": "extend", "new_deadline": "2027-02-28", "reason": "事情を考慮"}})
    assert drive.case(case_id).next_wakeup_at == datetime(2027, 2, 28, 14, 59, 59, tzinfo=UTC)
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    drive.do(case_id, "institutional_approval", "admin", approve())
    case = drive.case(case_id)
    assert case.next_wakeup_at is None and drive.ready(case_id) == ["review_submission"]
    assert drive.value(case_id, "submission")["submitted_late"] is True


# -- follow-up and closure --------------------------------------------------------------------------------------
def accepted_case(drive, **start) -> int:
    case_id = drive.start(partner=False, **start)
    drive.to_fa_review(case_id, partner=False)
    drive.accept(case_id)
    assert drive.case(case_id).outcome == "accepted"
    return case_id


def test_twelve_month_follow_up_fires_through_the_worker(drive, world, travel):
    case_id = accepted_case(drive)
    travel.moment = datetime(2027, 3, 31, 23, 59, tzinfo=UTC)
    assert case_id not in drive.tick()
    assert drive.items(case_id) == []
    travel.moment = datetime(2027, 4, 1, 0, 0, 1, tzinfo=UTC)  # 2027-04-01 09:00 JST has passed
    assert case_id in drive.tick()

    report = drive.item(case_id, "follow_up_report")
    routed(report, role="security_officer", organization_id=world.lead_id, stage="follow_up")
    assert report.due_at == datetime(2027, 5, 1, 14, 59, 59, tzinfo=UTC)  # 30 days
    data = drive.task_data(case_id, report.task_id)
    assert data["follow_up_trigger"] == {"kind": "periodic", "due": "2027-04-01", "number": 1}
    assert data["follow_up_report"]["reassessment_required"] is False
    assert drive.case(case_id).stage == "follow_up"
    (fired,) = drive.events(case_id, "timer_fired")
    assert fired.actor_name == "system" and "periodic_follow_up_due" in fired.data["completed"]
    assert drive.waiting_messages(case_id) == set()  # triggers wait only between follow-ups

    drive.do(case_id, "follow_up_report", "security", follow_up_report("periodic"))
    confirm = drive.item(case_id, "fa_confirm_follow_up")
    routed(confirm, role="fa_officer", organization_id=world.fa_id, stage="follow_up")
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage) == ("running", "accepted", "follow_up")
    assert drive.items(case_id) == []
    assert drive.value(case_id, "periodic_follow_ups_done") == 1
    assert drive.value(case_id, "next_follow_up_date") == "2028-04-01"
    assert case.next_wakeup_at == datetime(2028, 4, 1, 0, 0, tzinfo=UTC)
    (history,) = drive.value(case_id, "follow_up_history")
    assert history["trigger"]["kind"] == "periodic" and history["completed_on"] == "2027-04-01"
    assert drive.waiting_messages(case_id) == TRIGGERS


def test_adding_a_member_starts_a_follow_up_with_their_own_disclosure(drive, world, travel, svc):
    # the participant joins after acceptance: the first roster has the PI and the student only
    case_id = drive.start(partner=False)
    drive.do(case_id, "fix_team_roster", "security", {"roster": {
        "project": {"title": "量子センサの研究", "technology_areas": ["9"], "export_controlled": False,
                    "dual_use": False},
        "members": [member("山田 太郎", "pi", world.username("researcher")),
                    member("鈴木 一郎", "student", filled_by="security_office")],
        "partners": []}})
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.accept(case_id)
    travel.advance(days=40)

    newcomer = member("佐藤 花子", "participant", world.username("researcher2"))
    with pytest.raises(Forbidden):  # the FA does not change the institution's team
        commands.send_message(svc, drive.actor("fa_officer"), case_id, "member_added",
                              {"trigger": {"kind": "member_added", "member": newcomer}})
    drive.send(case_id, "security", "member_added", {"trigger": {"kind": "member_added", "member": newcomer}})
    report = drive.item(case_id, "follow_up_report")
    routed(report, role="security_officer", organization_id=world.lead_id, stage="follow_up")
    draft = drive.task_data(case_id, report.task_id)["follow_up_report"]
    assert draft["trigger_kind"] == "member_added" and draft["new_members"] == [newcomer]
    assert draft["reassessment_required"] is True
    drive.do(case_id, "follow_up_report", "security", follow_up_report("member_added", new_members=[newcomer]))

    # only the newcomer discloses, personally
    (own,) = drive.items(case_id, "fill_disclosure")
    routed(own, role="researcher", organization_id=world.lead_id, assignee_id=world.users["researcher2"],
           stage="identification")
    assert drive.task_data(case_id, own.task_id)["member"]["member_id"] == "M3"
    assert drive.items(case_id, "fill_disclosure_on_behalf") == []
    drive.do(case_id, "fill_disclosure", "researcher2", disclosure("佐藤 花子"))
    drive.do(case_id, "record_managed_data", "security", MANAGED_DATA_UNCHANGED)
    item = drive.item(case_id, "record_screening_results")
    rows = drive.task_data(case_id, item.task_id)["screening_results"]["results"]
    assert [r["subject_id"] for r in rows] == ["M3"]
    drive.do(case_id, "record_screening_results", "security", screening(rows))
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    routed(drive.item(case_id, "fa_confirm_follow_up"), role="fa_officer", organization_id=world.fa_id)
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage, case.risk_level) == ("running", "accepted", "follow_up", "L0")
    assert [m["member_id"] for m in drive.value(case_id, "members")] == ["M1", "M2", "M3"]
    assert sorted(d["member_id"] for d in drive.value(case_id, "disclosures")) == ["M1", "M2", "M3"]
    (history,) = drive.value(case_id, "follow_up_history")
    assert history["trigger"]["kind"] == "member_added" and history["reassessed"] is True
    # an event-triggered follow-up keeps the yearly rhythm
    assert drive.value(case_id, "next_follow_up_date") == "2027-04-01"
    assert drive.waiting_messages(case_id) == TRIGGERS
    (message,) = drive.events(case_id, "message_delivered")
    assert message.data == {"message": "member_added", "payload": {"trigger": {"kind": "member_added",
                                                                              "member": newcomer}}}


def test_the_case_closes_at_the_project_end_after_the_follow_ups_due_before_it(drive, world, travel):
    case_id = accepted_case(drive, project_end_date=date(2027, 6, 30))
    assert drive.value(case_id, "project_end_at") == "2027-06-30T23:59:59+09:00"
    travel.moment = datetime(2027, 4, 1, 0, 0, 1, tzinfo=UTC)
    assert case_id in drive.tick()
    drive.do(case_id, "follow_up_report", "security", follow_up_report("periodic"))
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    # next yearly check (2028-04-01) lies after the end: the end comes first
    assert drive.case(case_id).next_wakeup_at == datetime(2027, 6, 30, 14, 59, 59, tzinfo=UTC)
    travel.moment = datetime(2027, 6, 30, 14, 59, 58, tzinfo=UTC)
    assert case_id not in drive.tick()
    travel.moment = datetime(2027, 6, 30, 15, 0, 0, tzinfo=UTC)
    assert case_id in drive.tick()

    case = drive.case(case_id)
    finished(case, outcome="closed", stage="follow_up")
    assert drive.items(case_id) == [] and drive.waiting_messages(case_id) == set()
    assert drive.value(case_id, "closed_on") == "2027-07-01"
    assert drive.engine_trail(case_id)[-2:] == ["close_case", "case_end_closed"]
    assert drive.events(case_id, "timer_fired")[-1].actor_name == "system"


# -- many rounds ------------------------------------------------------------------------------------------------
def _stored(svc, case_id) -> tuple[int, int, int]:
    """(tasks in the stored workflow, bytes of the stored state without the case data and timestamps,
    bytes of the whole state uncompressed)."""
    with svc.db.reader() as session:
        raw = zlib.decompress(session.get(CaseState, case_id).state)
    dct = json.loads(raw)
    workflows = [dct, *dct["subprocesses"].values()]
    tasks = [task for wf in workflows for task in wf["tasks"].values()]
    for task in tasks:
        task.update(data={}, delta={}, internal_data={}, last_state_change=0)
    for wf in workflows:
        wf["data"] = {}
    return len(tasks), len(json.dumps(dct)), len(raw)


@pytest.mark.slow
def test_a_case_taking_many_additional_mitigation_rounds_keeps_a_flat_task_tree(drive, world, svc):
    # The point is that a round leaves nothing behind in the engine (pruning keeps the live task tree constant;
    # without it SpiffWorkflow loses the ready task after about 190 rounds, its iterator depth limit). The same
    # engine state at round 10 and at round 30 shows that no round adds to it, which is what keeps round 190, or
    # round 400, working; the benchmark (`make bench`, part "history") times rounds on a long history.
    rounds = 30
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    stored: dict[int, tuple[int, int, int]] = {}
    history: dict[int, int] = {}
    compressed: dict[int, int] = {}
    for round_no in range(1, rounds + 1):
        drive.additional_round(case_id, round_no)
        # the resubmission is there for the FA, whatever the round
        assert drive.ready(case_id) == ["review_submission"], round_no
        if round_no in (10, rounds):
            stored[round_no] = _stored(svc, case_id)
            compressed[round_no] = drive.state_size(case_id)
            # what the model itself keeps of the rounds: their log and the measures added to the plan
            history[round_no] = sum(len(json.dumps(drive.value(case_id, key)))
                                    for key in ("additional_mitigation_log", "mitigation_plan"))
    drive.accept(case_id)

    case = drive.case(case_id)
    assert (case.status, case.outcome, case.stage) == ("running", "accepted", "follow_up")
    assert drive.value(case_id, "fa_decision")["additional_mitigation_rounds"] == rounds
    assert len(drive.value(case_id, "agreed_measures")) == rounds
    # the engine's part of the state is the same at the last round as at round 10 ...
    (tasks_10, engine_10, whole_10), (tasks_n, engine_n, whole_n) = stored[10], stored[rounds]
    assert (tasks_n, engine_n) == (tasks_10, engine_10)
    # ... and the state grows only by the model's own record of the rounds, kept once
    assert whole_n - whole_10 <= 1.1 * (history[rounds] - history[10])
    # so a round does the same engine work late as early: the task tree does not grow with the rounds. How long a
    # round takes late against early is measured by the benchmark (`make bench`, part "history"), not here, where
    # a busy machine would decide it
    print(f"\n{rounds} additional-mitigation rounds: {tasks_n} live tasks; stored state {compressed[10]} -> "
          f"{compressed[rounds]} bytes compressed, {whole_10} -> {whole_n} uncompressed, of which the round "
          f"history {history[10]} -> {history[rounds]}")
