"""The partner institution's own risk management (issue 18, point 2; seed 003: 「Ｂ大学…研究者チーム…「管理対象データ」
等の管理について…リスクマネジメント（デュー・ディリジェンスを含む）を行う」), driven through the service layer.

The partner records its managed data, does its due diligence, assesses its team with the lead's rubric and plans
its own measures, all in its own lanes; its measures join the case's plan, the agreed measures and the
dashboards. Its people's disclosures stay with it: the lead and the FA see its conclusions (level, measures),
unless it shares the disclosures with the lead.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service.audit.replay import replay_and_compare
from service.auth.permissions import case_scope
from service.cases import commands, history
from service.cases.queries import task_form
from service.errors import Forbidden, NotFound
from service.forms import references
from service.models import Case, CaseMeasure

from .drive import (
    OUTCOME_APPROVED,
    PARTNER_MANAGED_DATA,
    Driver,
    approve,
    fa_review,
    feasible,
    mitigation_plan,
    partner_assessment_review,
    partner_due_diligence,
    partner_mitigation_plan,
    screening,
)

PRIVATE = {"fill_partner_member_disclosure", "fill_partner_member_disclosure_on_behalf",
           "partner_due_diligence_review"}


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def steps_seen(svc, drive: Driver, who: str, case_id: int) -> set[str]:
    """The submitted steps the case page (and GET /api/v1/cases/<id>/steps) shows this person."""
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        scope = case_scope(drive.actor(who), case)
        found = history.model_map(session, case.model_version_id, case.process_id)
        return {s.element_id for s in history.steps(history.history(session, scope, case, "ja"), found)}


def lead_identification(drive: Driver, case_id: int) -> None:
    drive.do(case_id, "record_managed_data", "security", {"managed_data_inventory": {"items": []}})
    item = drive.item(case_id, "record_screening_results")
    drive.do(case_id, "record_screening_results", "security",
             screening(drive.task_data(case_id, item.task_id)["screening_results"]["results"]))


def replays_identically(svc, case_id: int) -> None:
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_the_partner_assesses_its_team_with_the_rubric_and_its_measures_join_the_agreed_plan(drive, world, svc,
                                                                                               travel):
    case_id = drive.start()
    drive.roster(case_id)
    # a partner's open disclosure task is the partner's: the lead's full view of the case does not open it
    on_behalf = drive.item(case_id, "fill_partner_member_disclosure_on_behalf")
    with svc.db.reader() as session:
        with pytest.raises(NotFound):
            task_form(session, drive.actor("security"), on_behalf.task_id)
        assert task_form(session, drive.actor("partner_security"), on_behalf.task_id)["may_work"]
        assert task_form(session, drive.actor("security"), drive.item(case_id, "record_managed_data").task_id)
    # the partner's participant (whose disclosure the partner's office fills) declares a disciplinary history
    drive.disclosures(case_id, disciplinary="高橋 三郎")

    # its managed data, as structured data, by the partner's own office; the lead's office cannot do it
    managed = drive.item(case_id, "record_partner_managed_data")
    assert (managed.role, managed.organization_id, managed.stage) == ("security_officer", world.partner_id,
                                                                      "identification")
    with pytest.raises(Forbidden):
        commands.complete_task(drive.svc, drive.actor("security"), managed.task_id, PARTNER_MANAGED_DATA)
    drive.do(case_id, "record_partner_managed_data", "partner_security", PARTNER_MANAGED_DATA)
    drive.do(case_id, "partner_due_diligence_review", "partner_security", partner_due_diligence())

    # the lead's rubric on the partner's people: F8 (L2) raised by the designated programme (F1 HIGH) to L3
    review = drive.item(case_id, "review_partner_assessment")
    assert (review.role, review.organization_id, review.stage) == ("security_officer", world.partner_id,
                                                                   "assessment")
    data = drive.task_data(case_id, review.task_id)
    assert data["partner_proposed_level"] == "L3"
    findings = {f["subject_id"]: f for f in data["partner_findings"]}
    assert set(findings) == {"P1-M1", "P1-M2", "P1:data"}
    assert findings["P1-M2"]["level"] == "L3" and [f["factor"] for f in findings["P1-M2"]["factors"]] == ["F8"]
    assert findings["P1-M1"]["level"] == "L0"
    drive.do(case_id, "review_partner_assessment", "partner_security", partner_assessment_review())

    # L3: the partner plans its own measures (always needed from L3)
    plan = drive.item(case_id, "plan_partner_mitigation")
    assert (plan.role, plan.organization_id, plan.stage) == ("security_officer", world.partner_id, "mitigation")
    drive.do(case_id, "plan_partner_mitigation", "partner_security", partner_mitigation_plan("M6", "P1-M2"))

    # what reaches the lead: the conclusions, and the Co-PI's disclosure (the lead assesses the Co-PI)
    lead_identification(drive, case_id)
    (result,) = drive.value(case_id, "partner_results")
    assert result["assessment"]["level"] == "L3" and result["due_diligence"]["team_assessment"]["level"] == "L3"
    assert [(m["measure"], m["target"], m["source"]) for m in result["measures"]] == [("M6", "P1-M2", "partner")]
    assert [d["member_id"] for d in result["disclosures"]] == ["P1-M1"] and result["disclosures_shared"] is False
    assert "team_screening" not in result["due_diligence"]
    assert all("factors" not in f for f in result["assessment"]["findings"])  # levels, not why
    assert [i["title"] for i in result["managed_data"]] == ["試料測定データ"]

    # the lead's assessment takes the partner's level as it is (F1 already applied by the partner)
    lead_review = drive.item(case_id, "review_risk_assessment")
    lead_findings = {f["subject_id"]: f for f in drive.task_data(case_id, lead_review.task_id)["findings"]}
    assert lead_findings["P1:team"]["level"] == "L3"
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})

    # ③: the lead plans its own; the partner's measures join the plan the PI confirms
    plan_item = drive.item(case_id, "plan_mitigation")
    assert [m["measure"] for m in drive.task_data(case_id, plan_item.task_id)["partner_measures"]] == ["M6"]
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M2"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher", feasible("mitigation_feasibility"))
    measures = drive.value(case_id, "mitigation_plan")["measures"]
    assert [(m["measure"], m.get("source")) for m in measures] == [("M5", None), ("M6", "partner")]
    drive.do(case_id, "institutional_approval", "admin", approve())
    drive.do(case_id, "review_submission", "fa_officer", fa_review("accept"))
    drive.do(case_id, "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)
    assert drive.case(case_id).outcome == "accepted"
    assert [m["measure"] for m in drive.value(case_id, "agreed_measures")] == ["M5", "M6"]
    with svc.db.reader() as session:
        planned = session.scalars(select(CaseMeasure.code).where(CaseMeasure.case_id == case_id,
                                                                 CaseMeasure.kind == "planned")).all()
    assert sorted(planned) == ["M5", "M6"]  # the dashboards count the partner's measure too

    # who sees what: the partner's people's disclosures and its screening of them stay with the partner
    lead_steps, fa_steps = steps_seen(svc, drive, "security", case_id), steps_seen(svc, drive, "fa_officer", case_id)
    for seen in (lead_steps, fa_steps):
        assert not seen & PRIVATE
        assert {"record_partner_managed_data", "review_partner_assessment", "plan_partner_mitigation"} <= seen
    assert steps_seen(svc, drive, "partner_security", case_id) >= PRIVATE
    assert steps_seen(svc, drive, "auditor", case_id) >= PRIVATE

    # and follow-up: the yearly report asks for the status of the partner's measure beside the lead's
    travel.moment = datetime(2027, 4, 1, 0, 0, 1, tzinfo=UTC)  # accepted 2026-04-01: 2027-04-01 09:00 JST
    assert case_id in drive.tick()
    report = drive.item(case_id, "follow_up_report")
    status = drive.task_data(case_id, report.task_id)["follow_up_report"]["measures_status"]
    assert [(m["measure"], m["target"]) for m in status] == [("M5", "M2"), ("M6", "P1-M2")]
    replays_identically(svc, case_id)


def test_the_partner_may_share_its_teams_disclosures_with_the_lead_not_the_fa(drive, world, svc):
    case_id = drive.start()
    drive.roster(case_id)
    drive.disclosures(case_id)
    done = drive.partner_risk_management(case_id, share=True)
    assert "plan_partner_mitigation" not in done  # L0, no measures needed
    lead_identification(drive, case_id)

    (result,) = drive.value(case_id, "partner_results")
    assert result["disclosures_shared"] is True
    assert sorted(d["member_id"] for d in result["disclosures"]) == ["P1-M1", "P1-M2"]
    assert result["due_diligence"]["team_screening"] == []
    assert all("factors" in f for f in result["assessment"]["findings"])

    assert steps_seen(svc, drive, "security", case_id) >= PRIVATE  # shared with the lead institution
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": False}})
    drive.do(case_id, "institutional_approval", "admin", approve())
    assert not steps_seen(svc, drive, "fa_officer", case_id) & PRIVATE  # but not with the FA
    # sharing is one way: the partner still sees only its own part, not the lead's disclosures
    assert "fill_disclosure" not in steps_seen(svc, drive, "partner_security", case_id)
    replays_identically(svc, case_id)


def test_overriding_the_rubrics_level_needs_a_reason(drive, world):
    case_id = drive.start()
    drive.roster(case_id)
    drive.disclosures(case_id)
    drive.do(case_id, "record_partner_managed_data", "partner_security", PARTNER_MANAGED_DATA)
    drive.do(case_id, "partner_due_diligence_review", "partner_security", partner_due_diligence())
    with pytest.raises(AssertionError, match="override_reason"):
        drive.do(case_id, "review_partner_assessment", "partner_security", {"partner_assessment_review": {
            "override": True, "overridden_level": "L1", "mitigation_needed": False}})
    drive.do(case_id, "review_partner_assessment", "partner_security", partner_assessment_review("L1"))
    assert drive.ready(case_id) == ["record_managed_data"]
    lead_identification(drive, case_id)
    (partner,) = drive.value(case_id, "partner_results")
    assert partner["assessment"]["overridden"] is True
    assert partner["assessment"]["override_reason"] == "研究室の管理体制を踏まえて判断"
