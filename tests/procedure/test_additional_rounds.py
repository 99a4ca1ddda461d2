"""Additional risk management is risk management (issue 18, point 3; seed 003: 「研究機関は追加的なリスクマネジメントを
実施する」), driven through the service layer.

A round the FA asks for may first re-run ① identification and ② assessment for the affected subjects (a member,
a partner whose team redoes its own risk management), then adds measures; the PI confirms feasibility again;
a level that ends below where the round started needs a reason, in the form and on the server.
"""

from __future__ import annotations

import json

import pytest

from service.audit.replay import replay_and_compare
from service.auth.permissions import case_scope
from service.cases import commands, history
from service.errors import ValidationFailed
from service.forms import references
from service.models import Case

from .drive import (
    ADDITIONAL_APPROVED,
    MANAGED_DATA_UNCHANGED,
    Driver,
    additional_mitigation,
    approve,
    disclosure,
    fa_review,
    feasible,
    mitigation_plan,
    screening,
)

REQUEST = fa_review("request_additional_mitigation", response_due_date="2026-06-30",
                    requested_measures=[{"measure": "M12", "detail": "佐藤氏の兼業・懲戒歴を再確認すること"}])


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def replays_identically(svc, case_id: int) -> None:
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_a_round_identifies_and_assesses_the_affected_subjects_again_then_the_pi_confirms(drive, world, svc):
    case_id = drive.start()
    drive.to_fa_review(case_id)  # L0, no measures
    drive.do(case_id, "review_submission", "fa_officer", REQUEST)
    plan = drive.item(case_id, "plan_additional_mitigation")
    draft = drive.task_data(case_id, plan.task_id)["additional_mitigation"]
    assert (draft["level_before"], draft["current_level"]) == ("L0", "L0")

    # the office names who the request concerns: member M2 and partner P1 (whose team redoes its own part)
    drive.do(case_id, "plan_additional_mitigation", "security", {"additional_mitigation": {
        "response_summary": "佐藤氏と共同研究先の再確認を行う", "affected_subjects": ["M2", "P1"]}})
    # ① again, for them only: M2's own disclosure, P1's team, the managed data, the screening of those subjects
    ready = drive.ready(case_id)
    assert ready == ["fill_disclosure", "fill_partner_member_disclosure", "fill_partner_member_disclosure_on_behalf",
                     "record_managed_data", "record_partner_managed_data"], ready
    (again,) = drive.items(case_id, "fill_disclosure")
    assert again.assignee_id == world.users["researcher2"] and again.stage == "identification"
    assert drive.case(case_id).stage == "identification"
    # what M2 declares now: a disciplinary history (F8)
    drive.do(case_id, "fill_disclosure", "researcher2", disclosure("佐藤 花子", disciplinary=True))
    drive.do(case_id, "fill_partner_member_disclosure", "partner_researcher", disclosure("田中 次郎"))
    drive.do(case_id, "fill_partner_member_disclosure_on_behalf", "partner_security", disclosure("高橋 三郎"))
    drive.partner_risk_management(case_id)
    drive.do(case_id, "record_managed_data", "security", MANAGED_DATA_UNCHANGED)
    item = drive.item(case_id, "record_screening_results")
    rows = drive.task_data(case_id, item.task_id)["screening_results"]["results"]
    assert [r["subject_id"] for r in rows] == ["M2", "P1", "P1-M1"]
    drive.do(case_id, "record_screening_results", "security", screening(rows))

    # ② again, over everyone with what is now known: F8 (L2) raised by F1 HIGH: L3
    review = drive.item(case_id, "review_risk_assessment")
    assert drive.task_data(case_id, review.task_id)["proposed_level"] == "L3"
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})
    # back to the round's form, which now shows the new level; raising it needs no reason
    plan = drive.item(case_id, "plan_additional_mitigation")
    draft = drive.task_data(case_id, plan.task_id)["additional_mitigation"]
    assert (draft["level_before"], draft["current_level"], draft["affected_subjects"]) == ("L0", "L3", [])
    assert drive.case(case_id).stage == "additional_mitigation" and drive.case(case_id).risk_level == "L3"
    drive.do(case_id, "plan_additional_mitigation", "security", {"additional_mitigation": {
        "response_summary": "再評価の結果 L3: 佐藤氏の担当範囲を限定する",
        "measures": [{"measure": "M12", "target": "M2", "owner": "研究推進部", "due_date": "2026-09-30"}]}})

    # the PI confirms the measures are feasible again; a "no" sends the round back to the office
    confirm = drive.item(case_id, "confirm_additional_feasibility")
    assert (confirm.role, confirm.organization_id, confirm.assignee_id) == ("researcher", world.lead_id,
                                                                            world.users["researcher"])
    drive.do(case_id, "confirm_additional_feasibility", "researcher", {"additional_feasibility": {
        "feasible": False, "comments": "期限までの実施は困難", "confirmed_on": "2026-04-01"}})
    plan = drive.item(case_id, "plan_additional_mitigation")
    assert drive.task_data(case_id, plan.task_id)["additional_feasibility"]["comments"] == "期限までの実施は困難"
    drive.do(case_id, "plan_additional_mitigation", "security", {"additional_mitigation": {
        "response_summary": "期限を延ばして実施する",
        "measures": [{"measure": "M12", "target": "M2", "owner": "研究推進部", "due_date": "2026-12-25"}]}})
    drive.do(case_id, "confirm_additional_feasibility", "researcher", feasible())
    drive.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)

    (entry,) = drive.value(case_id, "additional_mitigation_log")
    assert entry["reassessed_subjects"] == ["M2", "P1"]
    assert (entry["level_before"], entry["level_after"], entry["measures_added"]) == ("L0", "L3", 1)
    assert entry["feasibility"]["feasible"] is True
    assert [m["due_date"] for m in drive.value(case_id, "mitigation_plan")["measures"]] == ["2026-12-25"]
    disclosed = {d["member_id"]: d for d in drive.value(case_id, "disclosures")}
    assert disclosed["M2"]["disclosure"]["disciplinary_history"]["has_history"] is True
    assert set(disclosed) == {"M1", "M2", "M3"}  # the others' first disclosures are kept
    drive.accept(case_id)
    case = drive.case(case_id)
    assert (case.outcome, case.risk_level) == ("accepted", "L3")
    # the FA, in full view once submitted, sees the re-run steps but not the partner's people's disclosures
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        found = history.model_map(session, case.model_version_id, case.process_id)
        fa_steps = [s.element_id for s in history.steps(
            history.history(session, case_scope(drive.actor("fa_officer"), case), case, "ja"), found)]
    assert fa_steps.count("fill_disclosure") == 3 and fa_steps.count("review_risk_assessment") == 2
    assert "fill_partner_member_disclosure" not in fa_steps
    replays_identically(svc, case_id)


def test_lowering_the_level_needs_a_reason_in_the_form_and_on_the_server(drive, world, svc):
    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    drive.identification(case_id, partner=False, disciplinary="佐藤 花子")  # L3
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M2"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher", feasible("mitigation_feasibility"))
    drive.do(case_id, "institutional_approval", "admin", approve())
    assert drive.case(case_id).risk_level == "L3"
    drive.do(case_id, "review_submission", "fa_officer", REQUEST)
    plan = drive.item(case_id, "plan_additional_mitigation")
    lowered = additional_mitigation(1)
    lowered["additional_mitigation"]["revised_level"] = "L2"

    # the form's rule (JSON Schema if-then over the level the form shows) ...
    shown = {"additional_mitigation": {**lowered["additional_mitigation"], "level_before": "L3",
                                       "current_level": "L3"}}
    with pytest.raises(ValidationFailed) as refused:
        commands.complete_task(svc, drive.actor("security"), plan.task_id, shown)
    assert [e["keyword"] for e in refused.value.errors] == ["required"], refused.value.errors
    assert "level_change_reason" in json.dumps(refused.value.errors), refused.value.errors
    # ... and the server's, which does not take the client's word for the starting level
    for sent in (lowered, {"additional_mitigation": {**lowered["additional_mitigation"], "level_before": "L2"}}):
        with pytest.raises(ValidationFailed) as refused:
            commands.complete_task(svc, drive.actor("security"), plan.task_id, sent)
        (problem,) = refused.value.errors
        assert problem["pointer"] == "/additional_mitigation/level_change_reason"
        assert problem["message"] == "レベルが L3 から L2 に下がります。理由を記入してください。"
    assert drive.ready(case_id) == ["plan_additional_mitigation"]  # nothing moved

    lowered["additional_mitigation"]["level_change_reason"] = "対象者の担当を変更し、データへのアクセスを終了したため"
    drive.do(case_id, "plan_additional_mitigation", "security", lowered)
    drive.do(case_id, "confirm_additional_feasibility", "researcher", feasible())
    drive.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)
    (entry,) = drive.value(case_id, "additional_mitigation_log")
    assert (entry["level_before"], entry["level_after"]) == ("L3", "L2")
    assert entry["level_change_reason"].startswith("対象者の担当を変更")
    assert drive.case(case_id).risk_level == "L2"
    assert drive.value(case_id, "assessment")["revised_in_round"] == 1
    replays_identically(svc, case_id)
