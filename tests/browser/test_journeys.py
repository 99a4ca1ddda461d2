"""Each user's main journey, end to end through the pages, on the real procedure (bpmn/, forms/), in Debian's
chromium: the researcher discloses; the security officer assesses, plans mitigation (with evidence) and the
institution submits; the FA officer claims the review and asks for additional mitigation; the institution
responds; the FA accepts. Every page is checked for CSP violations and script errors, and photographed to
test-artifacts/screenshots/journey-*.png.

Steps that are not part of these journeys (the team roster, the managed-data inventory and the screening
results) are done through the use cases, as the security office would have done them earlier.
"""

from __future__ import annotations

import pytest

from tests.browser.live import TABLET, shot
from tests.conftest import PASSWORD
from tests.web.helpers import MANAGED_DATA, Case, screening, today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVIDENCE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def submit(page, flash: str = "提出しました。") -> None:
    page.locator("form.tejun-rjsf button[type=submit]").click()
    try:
        page.wait_for_url(f"{page.live.url}/")
    except Exception:
        shot(page, "journey-failed-submit")
        errors = page.locator(".tejun-error-summary, .tejun-banner").all_inner_texts()
        raise AssertionError(f"the form was not accepted: {errors}") from None
    page.get_by_text(flash).wait_for()


def open_form(page, task_title: str, tab: str = "mine") -> None:
    page.goto(f"{page.live.url}/?tab={tab}")
    page.get_by_role("link", name=task_title).first.click()
    page.locator("form.tejun-rjsf").wait_for()


def set_false(page, selector: str) -> None:
    """A required yes/no checkbox answered "no" (touched, so the form holds false, not nothing)."""
    box = page.locator(selector)
    box.check()
    box.uncheck()


def claim_from_team_queue(page, task_title: str) -> None:
    page.goto(f"{page.live.url}/?tab=team")
    page.get_by_role("button", name=f"引き受ける: {task_title}").first.click()
    page.get_by_text("タスクを引き受けました。").wait_for()
    page.locator("form.tejun-rjsf").wait_for()


def first_row(page, field: str) -> None:
    """Make sure an array's first row exists (RJSF adds `minItems` rows by itself)."""
    if page.locator(field).count() == 0:  # that array's own add button: a form may hold several arrays
        array = field.split("_0_", 1)[0]
        page.locator(array).get_by_role("button", name="行を追加").last.click()
    page.locator(field).wait_for()


def add_measure(page, prefix: str, measure: str, target: str, owner: str, due: str) -> None:
    first_row(page, f"{prefix}_measures_0_measure")
    page.locator(f"{prefix}_measures_0_measure").select_option(label=measure)
    page.locator(f"{prefix}_measures_0_target").fill(target)
    page.locator(f"{prefix}_measures_0_owner").fill(owner)
    page.locator(f"{prefix}_measures_0_due_date").fill(due)


def test_the_main_journeys_through_the_pages(svc, world, open_as):
    case = Case(svc, world, title="量子センサの研究（画面の通し確認）")
    case.to_disclosure()
    who = {name: world.username(name) for name in world.users}

    # -- researcher: fills the disclosure routed to them by name ----------------------------------------
    researcher = open_as(who["researcher"], PASSWORD)
    assert researcher.locator(".site-nav .badge").inner_text() == "1"  # "new task" notification
    shot(researcher, "journey-01-researcher-queue")
    open_form(researcher, "研究者の申告（自己申告）")
    researcher.locator("#root_disclosure_identity_name").fill("山田 太郎")
    researcher.locator("#root_disclosure_identity_affiliation").fill(f"{world.tag} 大学A")
    set_false(researcher, "#root_disclosure_disciplinary_history_has_history")
    for flag in ("currently_listed_affiliation", "listed_funding", "past_listed_affiliation",
                 "ties_to_listed_researchers"):
        set_false(researcher, f"#root_disclosure_restricted_list_{flag}")
    researcher.locator("#root_disclosure_certification_consent").check()
    researcher.locator("#root_disclosure_certification_certified").check()
    researcher.locator("#root_disclosure_certification_certification_date").fill(today())
    researcher.get_by_role("button", name="下書きを保存").click()
    researcher.locator(".tejun-draft-status[data-state=saved]").wait_for()
    shot(researcher, "journey-02-researcher-disclosure")
    submit(researcher)
    researcher.watch.assert_clean()

    # (the security office's inventory and screening, done earlier)
    case.do("record_managed_data", "security", MANAGED_DATA)
    case.do("record_screening_results", "security", screening(["M1"]))

    # -- security officer: confirms the assessment, plans mitigation with evidence ------------------------
    security = open_as(who["security"], PASSWORD)
    claim_from_team_queue(security, "リスク評価の確認")
    set_false(security, "#root_assessment_review_override")
    security.locator("#root_assessment_review_mitigation_needed").check()
    security.locator("#root_assessment_review_notes").fill("研修と多要素認証で対応する。")
    shot(security, "journey-03-security-assessment")
    submit(security)

    claim_from_team_queue(security, "リスク軽減措置計画")
    add_measure(security, "#root_mitigation_plan", "M5 研究セキュリティ研修", "M1", "研究推進部", "2027-03-31")
    security.get_by_label("根拠資料").set_input_files(
        {"name": "研修計画.pdf", "mimeType": "application/pdf", "buffer": EVIDENCE_PDF})
    security.get_by_role("button", name="研修計画.pdf を削除").wait_for()
    shot(security, "journey-04-security-mitigation-plan")
    submit(security)
    security.watch.assert_clean()

    # -- researcher (the PI): confirms the plan can be carried out ----------------------------------------
    researcher.goto(f"{researcher.live.url}/")
    open_form(researcher, "軽減措置の実施可能性の確認")
    researcher.locator("#root_mitigation_feasibility_feasible").check()
    researcher.locator("#root_mitigation_feasibility_confirmed_on").fill(today())
    submit(researcher)
    researcher.watch.assert_clean()

    # -- institution administrator: approves and submits to the FA ----------------------------------------
    admin = open_as(who["admin"], PASSWORD)
    open_form(admin, "機関の承認とFAへの提出", tab="team")
    admin.get_by_label("承認してFAへ提出する").check()
    admin.locator("#root_institutional_approval_approved_on").fill(today())
    shot(admin, "journey-05-admin-approval")
    submit(admin)
    admin.watch.assert_clean()

    # -- FA officer: claims the review (a colleague was slower) and asks for additional mitigation ----------
    fa = open_as(who["fa_officer"], PASSWORD)
    colleague = open_as(who["fa_officer2"], PASSWORD)
    colleague.goto(f"{colleague.live.url}/?tab=team")
    fa.goto(f"{fa.live.url}/?tab=team")
    shot(fa, "journey-06-fa-team-queue")
    fa.get_by_role("button", name="引き受ける: リスクマネジメント結果の確認（FA）").click()
    fa.get_by_text("タスクを引き受けました。").wait_for()
    colleague.get_by_role("button", name="引き受ける: リスクマネジメント結果の確認（FA）").click()
    colleague.get_by_text("他の人が先に操作しました").wait_for()  # 409 -> a message, not a traceback
    shot(colleague, "journey-07-fa-someone-else-was-faster")
    fa.locator("form.tejun-rjsf").wait_for()
    fa.get_by_label("追加的なリスク軽減措置を求める").check()
    first_row(fa, "#root_fa_review_requested_measures_0_detail")
    fa.locator("#root_fa_review_requested_measures_0_detail").fill("研究データへの多要素認証の導入")
    shot(fa, "journey-08-fa-review")
    submit(fa)
    fa.watch.assert_clean()
    colleague.watch.assert_clean()

    # -- the institution responds ------------------------------------------------------------------------
    claim_from_team_queue(security, "追加的なリスク軽減措置")
    security.locator("#root_additional_mitigation_response_summary").fill("多要素認証を導入する。")
    add_measure(security, "#root_additional_mitigation", "M7 サイバーセキュリティ対策", "project", "情報基盤センター",
                "2027-06-30")
    submit(security)
    # the PI confirms again that the additional measures can be carried out
    researcher.goto(f"{researcher.live.url}/")
    open_form(researcher, "追加措置の実施可能性の確認")
    researcher.locator("#root_additional_feasibility_feasible").check()
    researcher.locator("#root_additional_feasibility_confirmed_on").fill(today())
    submit(researcher)
    researcher.watch.assert_clean()
    open_form(admin, "追加措置の承認と再提出", tab="team")
    admin.get_by_label("承認して再提出する").check()
    submit(admin)
    security.watch.assert_clean()
    admin.watch.assert_clean()

    # -- the FA accepts; the manager (in English) approves -------------------------------------------------
    claim_from_team_queue(fa, "リスクマネジメント結果の確認（FA）")
    fa.get_by_label("受理（合意した措置で）").check()
    submit(fa)
    manager = open_as(who["fa_manager"], PASSWORD, lang="en")
    assert manager.locator("html").get_attribute("lang") == "en"
    open_form(manager, "Approve the review outcome", tab="team")
    assert manager.get_by_role("button", name="Submit").is_visible()
    manager.locator("#root_fa_outcome_approval_approved").check()
    shot(manager, "journey-09-fa-manager-approval-en")
    manager.locator("form.tejun-rjsf button[type=submit]").click()
    manager.wait_for_url(f"{manager.live.url}/")
    manager.get_by_text("Submitted. The case has moved on to the next step.").wait_for()
    manager.watch.assert_clean()

    # -- the case page: summary, diagram, data per step, documents, timeline --------------------------------
    manager.goto(f"{manager.live.url}/cases/{case.id}")
    manager.locator("#tejun-diagram[data-state=ready]").wait_for()
    assert "Accepted" in manager.locator("#summary-heading + .facts").inner_text()
    assert manager.locator("#tejun-diagram a.bjs-powered-by").is_visible()  # the bpmn.io watermark stays
    completed = manager.locator("#tejun-diagram svg .tejun-completed").count()
    assert completed >= 3
    documents = manager.locator("section[aria-labelledby=files-heading]")
    assert "研修計画.pdf" in documents.inner_text()
    steps = manager.locator("section[aria-labelledby=steps-heading]")
    steps_text = steps.text_content()  # closed <details> included
    assert "Decision" in steps_text and "Request additional mitigation" in steps_text
    shot(manager, "journey-10-case-en")
    with manager.expect_download() as download:
        documents.get_by_role("link", name="研修計画.pdf").click()
    assert download.value.suggested_filename == "研修計画.pdf"
    manager.watch.assert_clean()

    security.goto(f"{security.live.url}/cases/{case.id}")
    security.locator("#tejun-diagram[data-state=ready]").wait_for()
    assert "受理" in security.locator("#summary-heading + .facts").inner_text()
    timeline = security.locator("section[aria-labelledby=timeline-heading]").inner_text()
    for text in ("案件の開始", "ステップの完了", "タスクの引き受け", "資料のアップロード"):
        assert text in timeline
    shot(security, "journey-11-case-ja")
    security.get_by_text("サブプロセスの図を開く").click()
    security.get_by_role("link", name="FAによる確認").click()
    security.locator("#tejun-diagram[data-state=ready]").wait_for()
    assert security.locator("#tejun-diagram svg .tejun-completed").count() >= 1
    shot(security, "journey-12-case-subprocess-diagram")
    security.watch.assert_clean()

    # -- the researcher sees the summary only; tablet layout ------------------------------------------------
    researcher.set_viewport_size(TABLET)
    researcher.goto(f"{researcher.live.url}/cases/{case.id}")
    assert researcher.locator("#tejun-diagram").count() == 0
    assert researcher.locator("section[aria-labelledby=timeline-heading]").count() == 0
    shot(researcher, "journey-13-case-researcher-tablet")
    researcher.goto(f"{researcher.live.url}/notifications")
    shot(researcher, "journey-14-notifications-tablet")
    researcher.watch.assert_clean()


def test_opening_a_case_and_withdrawing_it_through_the_pages(svc, world, open_as):
    """The security officer opens a case from the case list (a missing call is pointed out at its field first),
    lands on it with the team roster in the team queue, then withdraws it after confirming."""
    security = open_as(world.username("security"), PASSWORD)
    security.goto(f"{security.live.url}/cases")
    security.get_by_role("link", name="新規案件").click()
    security.locator("#title").fill("画面から開始する研究")
    security.get_by_role("button", name="案件を開始").click()
    assert security.locator("#call_id-error").inner_text() == "研究課題が採択された公募を選んでください。"
    assert security.locator("#title").input_value() == "画面から開始する研究"
    security.locator("#call_id").select_option(str(world.call_id))
    security.locator("#erad_project_number").fill("JP26-0099")
    security.locator("#partner_ids").select_option(str(world.partner_id))
    shot(security, "journey-20-new-case")
    security.get_by_role("button", name="案件を開始").click()
    security.get_by_text("最初のタスクがあなたのタスク一覧で待っています。").wait_for()
    case_url = security.url
    assert "画面から開始する研究" in security.locator("h1").inner_text()

    security.goto(f"{security.live.url}/?tab=team")
    assert "画面から開始する研究" in security.locator("table.list").inner_text()

    security.goto(case_url)
    security.get_by_text("申請を取り下げる").first.click()  # opens the panel's withdraw form
    security.locator("#withdraw_reason").fill("研究計画の中止")
    security.get_by_label("この申請を取り下げることを確認しました").check()
    security.once("dialog", lambda dialog: dialog.accept())
    security.get_by_role("button", name="申請を取り下げる").click()
    security.get_by_text("申請を取り下げました。案件は終了しました。").wait_for()
    assert "取り下げ" in security.locator("#summary-heading + .facts").inner_text()
    assert "(申請取り下げ)" in security.locator("section[aria-labelledby=timeline-heading]").inner_text()
    shot(security, "journey-21-withdrawn")
    security.watch.assert_clean()
