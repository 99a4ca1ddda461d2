"""Follow-up as needed, by either side (issue 18, point 4): the FA starts a follow-up round; roster and partner
changes are recorded at any time and held until the case can take them; closure at the project's end waits for
an open round or ends it, by the FA's recorded decision with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.audit.replay import replay_and_compare
from service.errors import Forbidden, NotFound
from service.forms import references
from service.models import Case, PendingFollowUp

from .drive import FOLLOW_UP_CONFIRMED, Driver, follow_up_report, iso, member, today


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def accepted_case(drive, **start) -> int:
    case_id = drive.start(partner=False, **start)
    drive.to_fa_review(case_id, partner=False)
    drive.accept(case_id)
    return case_id


def fa_request(reason: str = "報道により共同研究先の懸念が判明したため", **more) -> dict:
    return {"trigger": {"kind": "fa_request", "reason": reason, **more}}


def replays_identically(svc, *case_ids: int) -> None:
    with svc.db.reader() as session:
        for case_id in case_ids:
            result = replay_and_compare(session, session.get(Case, case_id))
            assert result.identical, (case_id, result.differences)


def pending(svc, case_id: int) -> list[tuple[str, str]]:
    with svc.db.reader() as session:
        return [(row.message, row.status) for row in session.query(PendingFollowUp)
                .filter(PendingFollowUp.case_id == case_id).order_by(PendingFollowUp.id)]


def test_the_fa_starts_a_follow_up_and_only_the_fa_may(drive, world, svc):
    case_id = accepted_case(drive)
    assert "follow_up_requested" in drive.waiting_messages(case_id)
    with pytest.raises(Forbidden):
        drive.send(case_id, "security", "follow_up_requested", fa_request())

    drive.send(case_id, "fa_officer", "follow_up_requested", fa_request(reassessment_required=True))
    report = drive.item(case_id, "follow_up_report")
    assert (report.role, report.organization_id) == ("security_officer", world.lead_id)
    data = drive.task_data(case_id, report.task_id)
    assert data["follow_up_trigger"]["reason"] == "報道により共同研究先の懸念が判明したため"
    assert data["follow_up_report"]["trigger_kind"] == "fa_request"
    assert data["follow_up_report"]["reassessment_required"] is True  # the FA asked for ①–③ again
    drive.do(report.case_id, "follow_up_report", "security", follow_up_report("fa_request"))
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    assert drive.items(case_id) == [] and "follow_up_requested" in drive.waiting_messages(case_id)
    replays_identically(svc, case_id)


def test_a_new_member_recorded_during_the_application_is_held_then_delivered_after_acceptance(drive, world, svc):
    case_id = drive.start(partner=False)
    drive.roster(case_id, partner=False)
    newcomer = member("伊藤 四郎", "participant", filled_by="security_office")
    version = drive.case(case_id).version
    sent = drive.send(case_id, "security", "member_added", {"trigger": {"kind": "member_added", "member": newcomer}})
    assert (sent.held, sent.version) == (True, version)  # the use case says so; the case itself did not move
    (held,) = drive.events(case_id, "change_held")
    assert held.data["message"] == "member_added" and held.actor_name == world.username("security")
    assert held.data["payload"]["trigger"]["member"] == newcomer
    assert pending(svc, case_id) == [("member_added", "pending")]
    # a researcher may not record it, held or not
    with pytest.raises((Forbidden, NotFound)):
        drive.send(case_id, "researcher", "member_added", {"trigger": {"kind": "member_added", "member": newcomer}})

    drive.tick()  # the case cannot take it yet: it stays held
    assert pending(svc, case_id) == [("member_added", "pending")]
    drive.identification(case_id, partner=False)
    drive.do(case_id, "review_risk_assessment", "security", {"assessment_review": {"override": False,
                                                                                    "mitigation_needed": False}})
    drive.do(case_id, "institutional_approval", "admin", {"institutional_approval": {
        "decision": "approve", "approved_on": iso(today())}})
    drive.accept(case_id)
    assert drive.case(case_id).outcome == "accepted"

    drive.tick()  # the worker's round delivers what was held
    assert pending(svc, case_id) == [("member_added", "delivered")]
    report = drive.item(case_id, "follow_up_report")
    assert drive.task_data(case_id, report.task_id)["follow_up_report"]["new_members"] == [newcomer]
    replays_identically(svc, case_id)


def test_a_partner_added_during_an_open_round_waits_for_its_end(app, drive, world, svc):
    from tests.web.helpers import bearer

    case_id = accepted_case(drive)
    assert drive.send(case_id, "fa_officer", "follow_up_requested", fa_request()).held is False  # delivered
    partner = {"name": "C研究所", "country": "日本", "foreign": False}
    client = app.test_client()
    response = client.post(f"/api/v1/cases/{case_id}/messages", headers=bearer(client, world, "security"), json={
        "name": "partner_added", "payload": {"trigger": {"kind": "partner_added", "partner": partner}}})
    assert response.status_code == 200 and response.get_json()["held"] is True
    assert pending(svc, case_id) == [("partner_added", "pending")]
    drive.tick()
    assert drive.ready(case_id) == ["follow_up_report"]  # the open round is not interrupted

    drive.do(case_id, "follow_up_report", "security", follow_up_report("fa_request"))
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    drive.tick()
    assert pending(svc, case_id) == [("partner_added", "delivered")]
    report = drive.item(case_id, "follow_up_report")
    assert drive.task_data(case_id, report.task_id)["follow_up_trigger"]["kind"] == "partner_added"
    replays_identically(svc, case_id)


def test_the_project_ends_during_a_round_and_the_fa_ends_it_with_a_reason(drive, world, svc, travel):
    case_id = accepted_case(drive, project_end_date=date(2026, 9, 30))
    drive.send(case_id, "fa_officer", "follow_up_requested", fa_request())
    travel.moment = datetime(2026, 9, 30, 15, 0, 0, tzinfo=UTC)  # 2026-10-01 00:00 JST
    assert case_id in drive.tick()
    decision = drive.item(case_id, "decide_closure_during_follow_up")
    assert (decision.role, decision.organization_id, decision.stage) == ("fa_officer", world.fa_id, "follow_up")
    assert drive.ready(case_id) == ["decide_closure_during_follow_up", "follow_up_report"]  # the round goes on

    drive.do(case_id, "decide_closure_during_follow_up", "fa_officer", {"closure_decision": {
        "decision": "end_round", "reason": "研究期間が終了し、報告を待つ必要がないため", "decided_on": iso(today())}})
    case = drive.case(case_id)
    assert (case.status, case.outcome) == ("completed", "closed")
    assert drive.items(case_id) == []  # the open report was withdrawn
    history = drive.value(case_id, "follow_up_history")
    assert history[-1]["ended_at_project_end"] is True
    assert history[-1]["reason"] == "研究期間が終了し、報告を待つ必要がないため"
    replays_identically(svc, case_id)


def test_the_fa_lets_closure_wait_for_the_open_round(drive, world, svc, travel):
    case_id = accepted_case(drive, project_end_date=date(2026, 9, 30))
    drive.send(case_id, "fa_officer", "follow_up_requested", fa_request())
    travel.moment = datetime(2026, 9, 30, 15, 0, 0, tzinfo=UTC)
    drive.tick()
    drive.do(case_id, "decide_closure_during_follow_up", "fa_officer", {"closure_decision": {
        "decision": "wait", "reason": "最終報告を受けてから終了する", "decided_on": iso(today())}})
    assert drive.case(case_id).status == "running" and drive.ready(case_id) == ["follow_up_report"]
    (decided,) = [e for e in drive.events(case_id, "task_completed")
                  if e.element_id == "decide_closure_during_follow_up"]
    assert decided.data["closure_decision"]["reason"] == "最終報告を受けてから終了する"

    drive.do(case_id, "follow_up_report", "security", follow_up_report("fa_request"))
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    case = drive.case(case_id)  # closed as the round ended, without waiting for a timer
    assert (case.status, case.outcome) == ("completed", "closed")
    assert drive.engine_trail(case_id)[-3:] == ["after_follow_up_round", "close_case", "case_end_closed"]
    replays_identically(svc, case_id)


def test_a_held_change_of_a_case_that_ends_first_is_dropped(drive, world, svc):
    case_id = drive.start(partner=False)
    drive.send(case_id, "security", "partner_added", {"trigger": {"kind": "partner_added",
                                                                  "partner": {"name": "C研究所"}}})
    drive.send(case_id, "security", "withdraw", {"withdraw_reason": "研究計画の変更"})
    drive.tick()
    assert pending(svc, case_id) == [("partner_added", "dropped")]
    replays_identically(svc, case_id)


def test_the_fa_officer_asks_for_a_follow_up_on_the_case_page(app, drive, world, svc):
    from tests.web.helpers import post, sign_in

    case_id = accepted_case(drive)
    # the lead's office is not offered the FA's action
    lead_page = sign_in(app, world, "security").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="member_name"' in lead_page and 'name="follow_up_reason"' not in lead_page
    client = sign_in(app, world, "fa_officer")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "フォローアップを求める" in page and 'name="follow_up_reason"' in page
    refused = post(client, f"/cases/{case_id}/messages", {"name": "follow_up_requested", "follow_up_reason": " "})
    assert refused.status_code == 422 and 'id="follow_up_reason-error"' in refused.get_data(as_text=True)
    assert drive.items(case_id) == []

    sent = post(client, f"/cases/{case_id}/messages", {"name": "follow_up_requested",
                                                        "follow_up_reason": "年次報告で懸念が示されたため"})
    assert sent.status_code == 302
    report = drive.item(case_id, "follow_up_report")
    assert drive.task_data(case_id, report.task_id)["follow_up_trigger"] == {
        "kind": "fa_request", "reason": "年次報告で懸念が示されたため", "reassessment_required": False}


def test_the_case_page_offers_roster_changes_during_the_application(app, drive, world, svc):
    from tests.web.helpers import sign_in

    case_id = drive.start(partner=False)
    lead_page = sign_in(app, world, "security").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'value="member_added"' in lead_page and 'value="partner_added"' in lead_page
    # the FA asks for a follow-up only once the case is accepted
    fa_page = sign_in(app, world, "fa_officer").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'value="follow_up_requested"' not in fa_page
