"""Forms that fit the decision, through the pages in Debian's chromium (issue 16, points 1 and 2):

* the FA accepts a case on its first review: no measure row is waiting to be filled in; each decision shows its
  own fields only once it is chosen, and what was typed for another decision is not sent;
* the disclosure's declarations (consent, "accurate and complete") start unticked and the form is refused, with a
  message at each box, until the researcher ticks them.

Screenshots: test-artifacts/screenshots/decision-*.png.
"""

from __future__ import annotations

import pytest

from service.cases.queries import restore
from service.models import Case as CaseRow
from tests.browser.live import shot
from tests.conftest import PASSWORD
from tests.web.helpers import Case, today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVIEW = "リスクマネジメント結果の確認（FA）"
MUST_CHECK = "内容を確認して、チェックを入れてください。"


def submit(page) -> None:
    page.locator("form.tejun-rjsf button[type=submit]").click()
    try:
        page.wait_for_url(f"{page.live.url}/")
    except Exception:
        errors = page.locator(".tejun-error-summary, .tejun-banner").all_inner_texts()
        raise AssertionError(f"the form was not accepted: {errors}") from None
    page.get_by_text("提出しました。").wait_for()


def field(page, name: str):
    return page.locator(f"#root_fa_review_{name}")


def test_the_fa_accepts_on_the_first_review_and_sees_only_the_fields_of_its_decision(svc, world, open_as):
    case = Case(svc, world, title="量子センサの研究（初回の審査で受理）")
    case.to_fa_review()
    fa = open_as(world.username("fa_officer"), PASSWORD)
    fa.goto(f"{fa.live.url}/?tab=team")
    fa.get_by_role("button", name=f"引き受ける: {REVIEW}").first.click()
    fa.get_by_text("タスクを引き受けました。").wait_for()
    fa.locator("form.tejun-rjsf").wait_for()

    # before a decision: the decision and the comments, no measure row to fill in or delete
    assert field(fa, "comments").is_visible()
    for name in ("conditions", "questions", "ministry_organization_id", "requested_measures", "reasons",
                 "response_due_date"):
        assert field(fa, name).count() == 0, name

    # 追加措置: the requested measures and the answer's due date appear, and a measure is required
    fa.get_by_label("追加的なリスク軽減措置を求める").check()
    field(fa, "requested_measures").wait_for()
    assert field(fa, "response_due_date").is_visible()
    assert field(fa, "conditions").count() == 0 and field(fa, "reasons").count() == 0
    if fa.locator("#root_fa_review_requested_measures_0_detail").count() == 0:
        fa.get_by_role("button", name="行を追加").first.click()
    fa.locator("#root_fa_review_requested_measures_0_detail").fill("研究データへの多要素認証の導入")
    shot(fa, "decision-fa-review-additional-mitigation-ja")

    # 受理: only the conditions of acceptance; the measure typed above is not sent
    fa.get_by_label("受理（合意した措置で）").check()
    field(fa, "conditions").wait_for()
    assert field(fa, "requested_measures").count() == 0 and field(fa, "response_due_date").count() == 0
    field(fa, "conditions").fill("年1回、措置の実施状況を報告すること。")
    shot(fa, "decision-fa-review-accept-ja")
    submit(fa)
    fa.watch.assert_clean()

    assert case.items("review_submission") == []
    approval = case.item("approve_review_outcome")  # the accepted review goes to the manager
    with svc.db.reader() as session:
        data = restore(session, session.get(CaseRow, case.id)).human_task(approval.task_id).data
    assert data["fa_review"] == {"decision": "accept", "conditions": "年1回、措置の実施状況を報告すること。"}
    fa.goto(f"{fa.live.url}/cases/{case.id}")
    steps = fa.locator("section[aria-labelledby=steps-heading]").text_content()
    assert "年1回、措置の実施状況を報告すること。" in steps
    assert "研究データへの多要素認証の導入" not in steps


def test_the_decision_form_refuses_a_missing_measure_at_its_field(svc, world, open_as):
    Case(svc, world, title="量子センサの研究（追加措置の要請）").to_fa_review()
    fa = open_as(world.username("fa_officer"), PASSWORD)
    fa.goto(f"{fa.live.url}/?tab=team")
    fa.get_by_role("button", name=f"引き受ける: {REVIEW}").first.click()
    fa.locator("form.tejun-rjsf").wait_for()
    fa.get_by_label("追加的なリスク軽減措置を求める").check()
    field(fa, "requested_measures").wait_for()
    if fa.locator("#root_fa_review_requested_measures_0_detail").count() == 0:
        fa.get_by_role("button", name="行を追加").first.click()
    fa.locator("form.tejun-rjsf button[type=submit]").click()
    error = fa.locator("#root_fa_review_requested_measures_0_detail__error")
    error.wait_for()
    assert "入力してください" in error.inner_text()
    assert "/tasks/" in fa.url  # still on the form
    fa.watch.assert_clean()


def test_the_disclosure_declarations_start_unticked_and_are_refused_until_ticked(svc, world, open_as):
    case = Case(svc, world, title="量子センサの研究（申告の確認）")
    case.to_disclosure()
    researcher = open_as(world.username("researcher"), PASSWORD)
    researcher.goto(f"{researcher.live.url}/?tab=mine")
    researcher.get_by_role("link", name="研究者の申告（自己申告）").first.click()
    researcher.locator("form.tejun-rjsf").wait_for()

    consent = researcher.locator("#root_disclosure_certification_consent")
    certified = researcher.locator("#root_disclosure_certification_certified")
    assert not consent.is_checked() and not certified.is_checked()
    # a field of one answer only: the year a past listed affiliation ended
    assert researcher.locator("#root_disclosure_restricted_list_past_affiliation_end_year").count() == 0

    researcher.locator("#root_disclosure_identity_name").fill("山田 太郎")
    researcher.locator("#root_disclosure_identity_affiliation").fill(f"{world.tag} 大学A")
    researcher.locator("#root_disclosure_certification_certification_date").fill(today())
    assert not consent.is_checked() and not certified.is_checked()  # still, after other fields changed
    researcher.locator("form.tejun-rjsf button[type=submit]").click()
    for box in ("consent", "certified"):
        error = researcher.locator(f"#root_disclosure_certification_{box}__error")
        error.wait_for()
        assert error.inner_text().strip() == MUST_CHECK
    assert MUST_CHECK in researcher.locator(".tejun-error-summary").inner_text()
    shot(researcher, "decision-disclosure-declarations-refused-ja")
    assert len(case.items("fill_disclosure")) == 1

    consent.check()
    consent.uncheck()
    researcher.locator("#root_disclosure_identity_position").fill("教授")
    assert not consent.is_checked()
    researcher.locator("#root_disclosure_restricted_list_past_listed_affiliation").check()
    researcher.locator("#root_disclosure_restricted_list_past_affiliation_end_year").fill("2018")
    consent.check()
    certified.check()
    submit(researcher)
    researcher.watch.assert_clean()
    assert case.items("fill_disclosure") == []
