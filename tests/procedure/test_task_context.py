"""Every worker sees the context its task's model declares (forms/*.context.json), and nothing of a part of the
case they may not see (service/cases/context.py, permissions.case_scope).

One foreign joint research case with a partner runs through the real procedure: disclosures (whose each one is,
also in the queue titles), the partner's due diligence, the review of the proposed level, an FA information
request, a ministry consultation with a summary and a shared document, an additional mitigation round, and a
periodic follow-up. Each worker's context is checked through GET /api/v1/tasks/<id> and the task page.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from service.attachments import store_upload
from service.auth.permissions import case_scope
from service.cases.context import may_see, task_context
from service.cases.queries import restore
from service.designer.store import read_model_dirs
from service.designer.validation import validate_model_files
from service.forms import references
from service.models import Case
from tests.web.helpers import bearer, sign_in, token_for

from .drive import (
    ADDITIONAL_APPROVED,
    ASSESSMENT_AS_PROPOSED,
    FOLLOW_UP_CONFIRMED,
    MANAGED_DATA,
    OUTCOME_APPROVED,
    PARTNER_MANAGED_DATA,
    Driver,
    additional_mitigation,
    approve,
    fa_review,
    feasible,
    follow_up_report,
    iso,
    partner_assessment_review,
    partner_due_diligence,
    screening,
    today,
)

QUESTIONS = "管理対象データの保存場所と暗号化の方法を教えてください"
CONSULTATION = "共同研究先への技術提供に輸出管理上の懸念はありますか"
SUMMARY = "量子センサの共同研究。共同研究先はB大学、外国の相手方はZ University"


def context_of(client, world, who: str, task_id: str, lang: str = "ja", *, fresh: bool = False) -> dict:
    headers = token_for(client, world.username(who)) if fresh else bearer(client, world, who)
    response = client.get(f"/api/v1/tasks/{task_id}?lang={lang}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return {entry["path"]: entry for entry in body["context"]} | {"_instructions": body.get("instructions")}


def page_of(app, world, who: str, task_id: str, lang: str = "ja") -> str:
    response = sign_in(app, world, who, lang).get(f"/tasks/{task_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_worker_sees_the_context_of_their_task_and_nothing_beyond_their_part(app, svc, world, travel):
    references.forget()
    drive = Driver(svc, world)
    client = app.test_client()
    case_id = drive.start(variant="foreign_joint")
    drive.roster(case_id)
    drive.do(case_id, "record_foreign_partner_request", "security", {"foreign_partner_request": {
        "foreign_partner_name": "Z University", "requested_on": iso(today()),
        "requested_measures": [{"description": "アクセス管理", "mapped_measure": "M1"}]}})

    # -- disclosures: whose each one is, in the task and in the queue title, in both languages ----------------
    (own,) = [i for i in drive.items(case_id, "fill_disclosure") if "山田 太郎" in i.title]
    assert own.title.endswith("山田 太郎・研究代表者・" + f"{world.tag} 大学A"), own.title
    assert own.title_en.endswith(f"山田 太郎 · Principal investigator · {world.tag} University A"), own.title_en
    titles = sorted(i.title for i in drive.items(case_id) if i.element_id.startswith("fill_"))
    assert len(set(titles)) == len(titles) == 5, titles  # no two disclosure tasks look alike any more
    seen = context_of(client, world, "researcher", own.task_id)
    assert seen["member.name"]["value"] == "山田 太郎" and seen["member.role"]["value"] == "pi"
    assert seen["case.lead_organization_id"]["value"] == world.lead_id
    page = page_of(app, world, "researcher", own.task_id, "en")
    assert "Principal investigator" in page and f"{world.tag} University A" in page
    (partner_office,) = drive.items(case_id, "fill_partner_member_disclosure_on_behalf")
    assert "高橋 三郎" in partner_office.title and f"{world.tag} 大学B" in partner_office.title
    seen = context_of(client, world, "partner_security", partner_office.task_id)
    assert seen["partner_organization_id"]["value"] == world.partner_id
    assert "研究参画者" in page_of(app, world, "partner_security", partner_office.task_id)

    # -- the partner's due diligence: what it must cover, its instructions -------------------------------------
    drive.disclosures(case_id)
    drive.do(case_id, "record_partner_managed_data", "partner_security", PARTNER_MANAGED_DATA)
    dd = drive.item(case_id, "partner_due_diligence_review")
    seen = context_of(client, world, "partner_security", dd.task_id)
    assert seen["partner.name"]["value"] == "B大学"
    assert [m["name"] for m in seen["partner.members"]["value"]] == ["田中 次郎", "高橋 三郎"]
    assert "<strong>B大学</strong>" in seen["_instructions"] and "2 名" in seen["_instructions"]
    assert "risk_level" not in seen and not any(p.startswith(("roster", "members")) for p in seen)
    assert "Cover <strong>B大学</strong>" in context_of(client, world, "partner_security", dd.task_id,
                                                         "en")["_instructions"]
    drive.do(case_id, "partner_due_diligence_review", "partner_security", partner_due_diligence())
    drive.do(case_id, "review_partner_assessment", "partner_security", partner_assessment_review())
    drive.do(case_id, "record_managed_data", "security", MANAGED_DATA)
    item = drive.item(case_id, "record_screening_results")
    drive.do(case_id, "record_screening_results", "security",
             screening(drive.task_data(case_id, item.task_id)["screening_results"]["results"]))

    # -- the review of the assessment: proposed level, factor levels, findings ---------------------------------
    review = drive.item(case_id, "review_risk_assessment")
    seen = context_of(client, world, "security", review.task_id)
    assert seen["proposed_level"]["value"] == "L0"
    assert seen["technology_sensitivity"]["value"] in ("HIGH", "MEDIUM", "LOW")
    findings = seen["findings"]["value"]
    assert {f["label"] for f in findings} >= {"山田 太郎", "B大学"} and all("level" in f for f in findings)
    page = page_of(app, world, "security", review.task_id)
    assert "提案されたリスクレベル" in page and "対象ごとの評価（要因とレベル）" in page and "L0 " in page
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    # the foreign partner's requested measure is in the plan: ③ runs for it (tests/procedure/test_foreign_measures.py)
    plan = drive.item(case_id, "plan_mitigation")
    seeded = drive.task_data(case_id, plan.task_id)["mitigation_plan"]["measures"]
    drive.do(case_id, "plan_mitigation", "security", {"mitigation_plan": {"measures": [
        dict(seeded[0], owner="研究推進部", due_date=iso(today() + timedelta(days=90)))]}})
    drive.do(case_id, "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
    approval = drive.item(case_id, "institutional_approval")
    assert "assessment.level" in context_of(client, world, "admin", approval.task_id)
    drive.do(case_id, "institutional_approval", "admin", approve())

    # -- the FA reviews what the institution submitted --------------------------------------------------------
    submission = drive.item(case_id, "review_submission")
    seen = context_of(client, world, "fa_officer", submission.task_id)
    assert seen["submission"]["value"]["risk_level"] == "L0" and seen["assessment.level"]["value"] == "L0"
    assert "assessment.findings" in seen and "mitigation_plan.measures" in seen

    # -- an information request: the institution sees the FA's questions and due date --------------------------
    due = iso(today() + timedelta(days=14))
    drive.do(case_id, "review_submission", "fa_officer",
             fa_review("request_information", questions=QUESTIONS, response_due_date=due))
    answer = drive.item(case_id, "answer_information_request")
    seen = context_of(client, world, "security", answer.task_id)
    assert seen["fa_review.questions"]["value"] == QUESTIONS and seen["fa_review.response_due_date"]["value"] == due
    page = page_of(app, world, "security", answer.task_id)
    assert QUESTIONS in page and "FAからの質問事項" in page
    assert f"{(today() + timedelta(days=14)).year}年" in page  # the due date as a date, not ISO text
    drive.do(case_id, "answer_information_request", "security", {"information_response": {"answer": "学内NAS"}})

    # -- a ministry consultation: only the question, the summary and the document the FA shared -----------------
    submission = drive.item(case_id, "review_submission")
    stored = store_upload(svc, drive.actor("fa_officer"), submission.task_id, "概要説明.txt",
                          io.BytesIO("共同研究の概要\n".encode()))
    kept = store_upload(svc, drive.actor("fa_officer"), submission.task_id, "内部メモ.txt",
                        io.BytesIO("FA内部のメモ\n".encode()))
    drive.do(case_id, "review_submission", "fa_officer", fa_review(
        "consult_ministry", ministry_organization_id=world.ministry_id, consultation_question=CONSULTATION,
        consultation_summary=SUMMARY, shared_documents=[{"id": stored.id, "name": stored.name}]))
    consultation = drive.item(case_id, "answer_ministry_consultation")
    seen = context_of(client, world, "ministry", consultation.task_id)
    assert set(seen) - {"_instructions"} == {"fa_review.consultation_question", "fa_review.consultation_summary",
                                             "fa_review.shared_documents", "fa_review.response_due_date"}
    assert "資金配分機関から意見を求められています" in seen["_instructions"]
    assert seen["fa_review.consultation_question"]["value"] == CONSULTATION
    assert seen["fa_review.consultation_summary"]["value"] == SUMMARY
    assert seen["fa_review.shared_documents"]["value"] == [{"id": stored.id, "name": "概要説明.txt"}]
    page = page_of(app, world, "ministry", consultation.task_id)
    for text in (CONSULTATION, SUMMARY, "概要説明.txt", "FAが共有した資料"):
        assert text in page, text
    # the document the FA shared is the ministry's to open; the FA's other files are not
    assert f'href="/attachments/{stored.id}"' in page
    ministry = sign_in(app, world, "ministry")
    assert ministry.get(f"/attachments/{stored.id}").status_code == 200
    assert ministry.get(f"/attachments/{kept.id}").status_code == 404
    assert sign_in(app, world, "partner_security").get(f"/attachments/{stored.id}").status_code == 404
    for secret in ("山田 太郎", "田中 次郎", "学内NAS", "測定データ", QUESTIONS):  # the lead's and earlier rounds'
        assert secret not in page, secret
    drive.do(case_id, "answer_ministry_consultation", "ministry",
             {"ministry_consultation": {"opinion": "no_objection", "answer": "該当しない"}})

    # the rule itself, on the FA's next review task (whose data holds the lead's levels and disclosures)
    submission = drive.item(case_id, "review_submission")
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        task = restore(session, case).human_task(submission.task_id)
        for who, expected in (("ministry", set()), ("partner_security", set()), ("researcher", set())):
            actor = drive.actor(who)
            got = {c.path for c in task_context(session, actor, case_scope(actor, case), case, submission,
                                                task.properties, task.data)}
            assert got == expected, (who, got)
        fa = drive.actor("fa_officer")
        assert "assessment.findings" in {c.path for c in task_context(session, fa, case_scope(fa, case), case,
                                                                       submission, task.properties, task.data)}
        partner = drive.actor("partner_security")
        scope, data = case_scope(partner, case), {**task.data, "partner_organization_id": world.partner_id}
        assert not may_see(partner, scope, case, submission, data, {"path": "risk_level", "part": "lead"})
        assert may_see(partner, scope, case, submission, data,  # unless the model shares it with the partner
                       {"path": "risk_level", "part": "lead", "visible_to": ["partner"]})

    # -- additional mitigation: the measures requested, the FA's comments and the due date ----------------------
    due = iso(today() + timedelta(days=30))
    drive.do(case_id, "review_submission", "fa_officer", fa_review(
        "request_additional_mitigation", requested_measures=[{"measure": "M7", "detail": "多要素認証の導入"}],
        comments="アクセス管理を強化してください", response_due_date=due))
    plan = drive.item(case_id, "plan_additional_mitigation")
    seen = context_of(client, world, "security", plan.task_id)
    assert seen["additional_mitigation_request.requested_measures"]["value"] == [
        {"measure": "M7", "detail": "多要素認証の導入"}]
    assert seen["additional_mitigation_request.comments"]["value"] == "アクセス管理を強化してください"
    assert seen["additional_mitigation_request.due_date"]["value"] == due
    page = page_of(app, world, "security", plan.task_id, "en")
    assert "Measures requested" in page and "Cyber security measures" in page and "多要素認証の導入" in page
    drive.do(case_id, "plan_additional_mitigation", "security", additional_mitigation(1))
    drive.do(case_id, "confirm_additional_feasibility", "researcher", feasible())
    resubmit = drive.item(case_id, "approve_additional_mitigation")
    seen = context_of(client, world, "admin", resubmit.task_id)
    assert seen["additional_mitigation.measures"]["value"][0]["measure"] == "M7"
    drive.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)

    # -- the manager's approval: the officer's decision and what was submitted ---------------------------------
    drive.do(case_id, "review_submission", "fa_officer", fa_review("accept", conditions="年1回の報告"))
    outcome = drive.item(case_id, "approve_review_outcome")
    seen = context_of(client, world, "fa_manager", outcome.task_id)
    assert seen["fa_review.decision"]["value"] == "accept" and seen["fa_review.conditions"]["value"] == "年1回の報告"
    assert [m["measure"] for m in seen["mitigation_plan.measures"]["value"]] == ["M1", "M7"]
    assert "受理（合意した措置で）" in page_of(app, world, "fa_manager", outcome.task_id)
    drive.do(case_id, "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)
    drive.do(case_id, "notify_foreign_partner", "security",
             {"foreign_partner_notification": {"notified_on": iso(today()), "sent_to": "Z University",
                                               "method": "email"}})

    # -- the periodic follow-up: the agreed measures ------------------------------------------------------------
    travel.moment = datetime(2027, 4, 1, 0, 0, 1, tzinfo=UTC)
    assert case_id in drive.tick()
    report = drive.item(case_id, "follow_up_report")
    seen = context_of(client, world, "security", report.task_id, fresh=True)  # a year on: a new token
    assert [m["measure"] for m in seen["agreed_measures"]["value"]] == ["M1", "M7"]
    assert seen["fa_decision.conditions"]["value"] == "年1回の報告"
    page = page_of(app, world, "security", report.task_id)
    assert "合意した措置" in page and "サイバーセキュリティ対策" in page and "定期" in page
    drive.do(case_id, "follow_up_report", "security", follow_up_report("periodic"))
    confirm = drive.item(case_id, "fa_confirm_follow_up")
    assert "follow_up_report" in context_of(client, world, "fa_officer", confirm.task_id, fresh=True)
    drive.do(case_id, "fa_confirm_follow_up", "fa_officer", FOLLOW_UP_CONFIRMED)


def test_instructions_cannot_inject_html():
    from service.cases.context import render_instructions

    html = str(render_instructions("**{{ name }}** [x](javascript:alert(1)) <b>raw</b>",
                                   {"name": "<script>alert(1)</script>"}))
    assert "<script>" not in html and "<b>" not in html and "<a " not in html  # the link stays text
    assert "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>" in html
    assert "sandbox" in str(render_instructions("{{ ''.__class__ }}", {})).lower() or \
        "__class__" not in str(render_instructions("{{ ''.__class__ }}", {}))


def test_designer_validation_names_a_context_path_that_does_not_exist(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = read_model_dirs(root / "bpmn", root / "forms")
    assert validate_model_files(files) == []
    entries = json.loads(files["information_response.context.json"])
    entries += [{"path": "fa_review.question_typo", "title": "誤り"}, {"path": "no_such_key.x", "title": "誤り"},
                {"path": "risk_level", "title": "誤り", "visible_to": ["nowhere"]}]
    broken = {**files, "information_response.context.json": json.dumps(entries).encode()}
    problems = [str(p) for p in validate_model_files(broken)]
    assert any("answer_information_request" in p and "fa_review.question_typo" in p and "does not exist in the "
               "form producing 'fa_review'" in p for p in problems), problems
    assert any("no_such_key" in p and "no form, script, decision" in p for p in problems), problems
    assert any("nowhere_organization_id" in p for p in problems), problems
