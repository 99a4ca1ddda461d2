"""The context panel beside a task's form, in Debian's chromium (issue 17): what the model declares for the task
(forms/*.context.json), in Japanese and English, as far as the viewer may see it.

* the consulted ministry sees the FA's question, the case summary and the shared document, and its instructions;
* the security office planning additional mitigation sees the measures requested, the FA's comments and the due
  date.

Screenshots: test-artifacts/screenshots/context-*.png.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from service.attachments import store_upload
from service.forms import references
from tests.browser.live import shot
from tests.conftest import PASSWORD
from tests.procedure.drive import Driver, fa_review, iso, today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "共同研究先への技術提供に輸出管理上の懸念はありますか"
SUMMARY = "量子センサの共同研究（B大学と）。外国の相手方からの要請により措置を講じる。"


def test_the_context_panel_shows_each_worker_what_their_task_needs(svc, world, open_as):
    references.forget()
    drive = Driver(svc, world)
    case_id = drive.start(title="量子センサの研究（相談と追加措置）")
    drive.to_fa_review(case_id)
    review = drive.item(case_id, "review_submission")
    stored = store_upload(svc, drive.actor("fa_officer"), review.task_id, "案件概要.txt",
                          io.BytesIO("共同研究の概要\n".encode()))
    due = iso(today() + timedelta(days=21))
    drive.do(case_id, "review_submission", "fa_officer", fa_review(
        "consult_ministry", ministry_organization_id=world.ministry_id, consultation_question=QUESTION,
        consultation_summary=SUMMARY, shared_documents=[{"id": stored.id, "name": stored.name}],
        response_due_date=due))
    consultation = drive.item(case_id, "answer_ministry_consultation")

    for lang, heading, title in (("ja", "このタスクの情報", "FAからの相談内容"),
                                 ("en", "For this task", "The FA's question")):
        page = open_as(world.username("ministry"), PASSWORD, lang)
        page.goto(f"{page.live.url}/tasks/{consultation.task_id}")
        panel = page.locator("#task-context")
        panel.get_by_role("heading", name=heading).wait_for()
        text = panel.inner_text()
        assert title in text and QUESTION in text and SUMMARY in text and "案件概要.txt" in text
        assert "山田 太郎" not in page.content()  # the lead's team is not the ministry's to see
        assert page.locator(".task-instructions").is_visible()
        shot(page, f"context-ministry-consultation-{lang}")
        page.watch.assert_clean()

    drive.do(case_id, "answer_ministry_consultation", "ministry",
             {"ministry_consultation": {"opinion": "no_objection", "answer": "該当しない"}})
    drive.do(case_id, "review_submission", "fa_officer", fa_review(
        "request_additional_mitigation",
        requested_measures=[{"measure": "M7", "detail": "研究データへの多要素認証の導入"}],
        comments="アクセス管理を強化してください", response_due_date=due))
    plan = drive.item(case_id, "plan_additional_mitigation")
    for lang, label, measure in (("ja", "求められた追加措置", "サイバーセキュリティ対策"),
                                 ("en", "Measures requested", "Cyber security measures")):
        page = open_as(world.username("security"), PASSWORD, lang)
        page.goto(f"{page.live.url}/tasks/{plan.task_id}")
        panel = page.locator("#task-context")
        panel.wait_for()
        text = panel.inner_text()
        assert label in text and measure in text and "研究データへの多要素認証の導入" in text
        assert "アクセス管理を強化してください" in text
        page.locator("form.tejun-rjsf").wait_for()
        shot(page, f"context-additional-mitigation-{lang}")
        page.watch.assert_clean()
