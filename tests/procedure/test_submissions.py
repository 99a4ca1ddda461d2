"""What the institution submits to the FA is frozen per round (service/cases/submissions.py); the FA sees the
institution's working data only once it was submitted; agreed measures stay complete through follow-ups.

Driven through the use cases (tests/procedure/drive.py) and read through the pages and the API as the people of
the test world would.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from service.attachments import store_upload
from service.audit.dossier import verify_dossier
from service.audit.replay import replay_and_compare
from service.cases import submissions
from service.eventlog.hashing import dumps
from service.forms import references
from service.models import Case, SubmissionPackage
from tests.web.helpers import bearer, sign_in

from .drive import (
    ADDITIONAL_APPROVED,
    FOLLOW_UP_CONFIRMED,
    Driver,
    approve,
    fa_review,
    feasible,
    follow_up_report,
    iso,
    mitigation_plan,
    today,
)


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def packages(svc, case_id: int) -> list[SubmissionPackage]:
    with svc.db.reader() as session:
        return list(session.query(SubmissionPackage).filter_by(case_id=case_id).order_by(SubmissionPackage.round))


def to_approval_with_mitigation(drive: Driver, case_id: int) -> None:
    """Roster, ① (a disciplinary history: L3), ② as proposed with mitigation, ③ M5 for M2, feasible."""
    drive.roster(case_id, partner=False)
    drive.identification(case_id, partner=False, disciplinary="佐藤 花子")
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M2"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})


def additional(drive: Driver, case_id: int, measure: str, *, revised_level: str | None = None,
               target: str = "project", who_asks: str = "review_submission") -> None:
    if who_asks == "review_submission":
        drive.do(case_id, "review_submission", "fa_officer", fa_review(
            "request_additional_mitigation", requested_measures=[{"measure": measure, "detail": "追加の措置"}]))
    body = {"response_summary": f"{measure} を追加", "measures": [
        {"measure": measure, "target": target, "owner": "情報基盤センター",
         "due_date": iso(today() + timedelta(days=90))}]}
    if revised_level:
        # lowering the level needs a reason (the form's rule, and the server's)
        body.update(revised_level=revised_level, level_change_reason="追加措置によりリスクが低減したため")
    drive.do(case_id, "plan_additional_mitigation", "security", {"additional_mitigation": body})
    drive.do(case_id, "confirm_additional_feasibility", "researcher", feasible())
    drive.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)


# -- packages -------------------------------------------------------------------------------------------------
def test_each_round_is_frozen_with_its_content_and_hash(drive, world, svc):
    case_id = drive.start(partner=False)
    to_approval_with_mitigation(drive, case_id)
    (approval,) = drive.items(case_id, "institutional_approval")
    store_upload(svc, drive.actor("admin"), approval.task_id, "規程.pdf", io.BytesIO(b"%PDF-1.4\n% rules\n"))
    # a return for rework submits nothing
    drive.do(case_id, "institutional_approval", "admin",
             {"institutional_approval": {"decision": "return", "return_to": "assessment",
                                         "approved_on": iso(today()), "comments": "再評価を"}})
    assert packages(svc, case_id) == []
    assert drive.case(case_id).fa_submission == "awaiting"
    drive.do(case_id, "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})
    drive.do(case_id, "plan_mitigation", "security", mitigation_plan("M2"))
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    drive.do(case_id, "institutional_approval", "admin", approve())

    (first,) = packages(svc, case_id)
    assert (first.round, first.kind, first.element_id) == (1, "initial", "institutional_approval")
    assert drive.case(case_id).fa_submission == "submitted"
    content = json.loads(first.content)
    assert first.content == dumps(content)  # canonical JSON
    assert first.sha256 == hashlib.sha256(first.content.encode()).hexdigest()
    assert content["risk_level"] == "L3" and content["assessment"]["level"] == "L3"
    team = content["identification"]["team"]["members"]
    assert [m["name"] for m in team] == ["山田 太郎", "佐藤 花子", "鈴木 一郎"]
    assert [i["title"] for i in content["identification"]["managed_data"]] == ["測定データ"]
    assert {r["subject_id"] for r in content["identification"]["screening"]} == {"M1", "M2", "M3"}
    sato = next(f for f in content["assessment"]["findings"] if f["subject_id"] == "M2")
    assert sato["level"] == "L3" and {h["factor"] for h in sato["factors"]} == {"F8"}
    assert [(m["measure"], m["target"]) for m in content["mitigation"]["measures"]] == [("M5", "M2")]
    assert content["mitigation"]["feasibility"]["feasible"] is True
    assert content["submission"]["risk_level"] == "L3"
    (document,) = content["attachments"]
    assert document["name"] == "規程.pdf"
    assert document["sha256"] == hashlib.sha256(b"%PDF-1.4\n% rules\n").hexdigest()
    assert "disclosure" not in json.dumps(content["identification"]["disclosures"])  # who disclosed, not what
    (event,) = drive.events(case_id, "submission_frozen")
    assert event.data == {"round": 1, "kind": "initial", "sha256": first.sha256}
    assert (event.element_id, event.actor_name) == ("institutional_approval", world.username("admin"))

    # an answer to the FA's questions is round 2, an additional-mitigation round round 3
    drive.do(case_id, "review_submission", "fa_officer", fa_review("request_information", questions="保存場所は？"))
    drive.do(case_id, "answer_information_request", "security", {"information_response": {"answer": "学内NAS"}})
    additional(drive, case_id, "M7", revised_level="L2")
    first, second, third = packages(svc, case_id)
    assert (second.kind, third.kind) == ("information_response", "additional_mitigation")
    assert json.loads(second.content)["information_requests"][0]["response"] == {"answer": "学内NAS"}
    assert [m["measure"] for m in json.loads(third.content)["mitigation"]["measures"]] == ["M5", "M7"]
    assert [e.data["round"] for e in drive.events(case_id, "submission_frozen")] == [1, 2, 3]

    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_the_diff_between_rounds_names_the_added_measure_and_the_changed_level(drive, svc, app):
    case_id = drive.start(partner=False)
    to_approval_with_mitigation(drive, case_id)
    drive.do(case_id, "institutional_approval", "admin", approve())
    additional(drive, case_id, "M7", revised_level="L2")
    one, two = (json.loads(p.content) for p in packages(svc, case_id))
    with app.test_request_context():
        ja = submissions.diff(one, two, "ja")
        en = submissions.diff(one, two, "en")
    assert any("M7" in line and "サイバーセキュリティ" in line and "追加" in line for line in ja), ja
    assert any("L3 → L2" in line and "リスクレベル" in line for line in ja), ja
    assert any(line.startswith("Measure added: M7 Cyber security") for line in en), en
    assert "Overall risk level changed: L3 → L2" in en
    assert any(line.startswith("Additional mitigation round 1") for line in en), en
    assert not any("M5" in line for line in en)  # unchanged
    assert not any("mitigation.measures" in line or "[" in line for line in ja + en)  # people's words


# -- who sees what, before and after the first submission ------------------------------------------------------
def test_the_fa_sees_no_working_data_before_the_first_submission(drive, world, svc, app, client):
    case_id = drive.start(partner=False)
    (roster,) = drive.items(case_id, "fix_team_roster")
    store_upload(svc, drive.actor("security"), roster.task_id, "lead-evidence.pdf", io.BytesIO(b"%PDF-1.4\n%x\n"))
    to_approval_with_mitigation(drive, case_id)
    fa_page = sign_in(app, world, "fa_officer")
    fa_api = bearer(client, world, "fa_officer")

    def api(path: str):
        response = client.get(f"/api/v1/cases/{case_id}{path}", headers=fa_api)
        assert response.status_code == 200, (path, response.get_json())
        return response.get_json()

    page = fa_page.get(f"/cases/{case_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "山田 太郎" not in html and "lead-evidence.pdf" not in html and "測定データ" not in html
    assert "has not submitted" in html or "まだ提出していません" in html
    assert api("")["risk_level"] is None and api("")["stage"] == "approval"
    assert api("/steps")["items"] == [] and api("/timeline")["items"] == []
    assert api("/team") == {"members": [], "partners": []}
    assert api("/attachments")["items"] == [] and api("/submissions")["items"] == []
    assert fa_page.get(f"/cases/{case_id}/diagram/research_security_case.bpmn").status_code == 404
    # the lead institution's own view is unchanged
    assert "山田 太郎" in sign_in(app, world, "security").get(f"/cases/{case_id}").get_data(as_text=True)

    drive.do(case_id, "institutional_approval", "admin", approve())
    html = fa_page.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "山田 太郎" in html and "lead-evidence.pdf" in html and 'id="submissions"' in html
    assert api("")["risk_level"] == "L3"
    (round_one,) = api("/submissions")["items"]
    assert round_one["round"] == 1 and round_one["kind"] == "initial" and round_one["intact"] is True
    assert round_one["content"]["mitigation"]["measures"][0]["measure"] == "M5"
    assert [m["name"] for m in api("/team")["members"]] == ["山田 太郎", "佐藤 花子", "鈴木 一郎"]
    # the FA's review task shows the rounds; after another round, with what changed
    additional(drive, case_id, "M7", revised_level="L2")
    (review,) = drive.items(case_id, "review_submission")
    task_html = sign_in(app, world, "fa_officer", lang="en").get(f"/tasks/{review.task_id}").get_data(as_text=True)
    assert "Submissions to the funding agency" in task_html and "Changes since round 1" in task_html
    assert "Measure added: M7" in task_html and "L3 → L2" in task_html
    second = api("/submissions?lang=en")["items"][1]
    assert "Overall risk level changed: L3 → L2" in second["changes"]
    # partners' and researchers' views hold no packages
    assert client.get(f"/api/v1/cases/{case_id}/submissions",
                      headers=bearer(client, world, "researcher")).get_json()["items"] == []


def test_the_dossier_holds_the_packages_and_checks_them(drive, world, app, svc):
    case_id = drive.start(partner=False)
    to_approval_with_mitigation(drive, case_id)
    drive.do(case_id, "institutional_approval", "admin", approve())
    additional(drive, case_id, "M7")
    zipped = sign_in(app, world, "auditor").get(f"/audit/cases/{case_id}/dossier.zip")
    assert zipped.status_code == 200
    intact, lines = verify_dossier(io.BytesIO(zipped.data))
    assert intact, lines
    assert any("2 submission package(s)" in line for line in lines), lines
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        stored = {p.round: p for p in packages(svc, case_id)}
        assert [(s["round"], s["sha256"]) for s in manifest["submissions"]] == [(1, stored[1].sha256),
                                                                                (2, stored[2].sha256)]
        assert archive.read("submissions/round-2.json").decode() == stored[2].content


# -- point 4: agreed measures stay complete --------------------------------------------------------------------
def test_measures_of_later_rounds_and_follow_ups_stay_agreed(drive, world, travel):
    case_id = drive.start(partner=False)
    drive.to_fa_review(case_id, partner=False)
    additional(drive, case_id, "M7")
    additional(drive, case_id, "M12", target="M2")  # round 2
    drive.accept(case_id)
    assert [m["measure"] for m in drive.value(case_id, "agreed_measures")] == ["M7", "M12"]

    def follow_up(year: int) -> dict:
        travel.moment = datetime(year, 4, 1, 0, 0, 1, tzinfo=UTC)
        assert case_id in drive.tick()
        (report,) = drive.items(case_id, "follow_up_report")
        draft = drive.task_data(case_id, report.task_id)["follow_up_report"]
        drive.do(case_id, "follow_up_report", "security", follow_up_report("periodic"))
        return draft

    follow_up(2027)
    # the FA asks for more in the first follow-up: M14 joins
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", {"follow_up_confirmation": {
        "decision": "additional_measures_required", "requested_measures": [{"detail": "共同研究先の定期再確認"}]}})
    additional(drive, case_id, "M14", target="P1", who_asks="fa_confirm_follow_up")
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    assert [m["measure"] for m in drive.value(case_id, "agreed_measures")] == ["M7", "M12", "M14"]

    second = follow_up(2028)
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    third = follow_up(2029)
    assert [(m["measure"], m["target"]) for m in second["measures_status"]] == [
        ("M7", "project"), ("M12", "M2"), ("M14", "P1")]
    assert [(m["measure"], m["target"]) for m in third["measures_status"]] == [
        ("M7", "project"), ("M12", "M2"), ("M14", "P1")]
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)
    assert len(drive.value(case_id, "agreed_measures")) == 3  # confirmed again: nothing doubled
