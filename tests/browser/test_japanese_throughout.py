"""Japanese throughout, in Debian's chromium: the designer's bpmn-js palette, context pad and properties panel
and the DMN editor speak the page's language (their `translate` module), and the case diagram's labels are the
reader's language (lanes by role, tasks by their forms' titles, "日本語 (English)" names split), in Japanese and
in English. Screenshots: test-artifacts/screenshots/japanese-throughout-*.png.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service import demo_cases
from service.designer.store import latest_published
from service.models import Case
from tests.browser.live import shot

pytestmark = pytest.mark.browser

WORDS = {
    "ja": {"start": "開始イベントを作成", "task": "タスクを追加", "general": "一般", "lane": "研究セキュリティ担当者",
           "hit_policy": "ヒットポリシー", "rule": "ルールを追加"},
    "en": {"start": "Create start event", "task": "Append task", "general": "General",
           "lane": "Research security officer", "hit_policy": "Hit policy", "rule": "Add rule"},
}


@pytest.fixture(scope="module")
def demo(app, settings):
    result = app.test_cli_runner().invoke(args=["demo", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((settings.instance_path / "demo-accounts.json").read_text())


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_designer_palette_context_pad_panel_and_dmn_in_the_pages_language(open_as, demo, svc, live, lang):
    words = WORDS[lang]
    with svc.db.reader() as session:
        version_id = latest_published(session).id
    page = open_as("designer", demo["designer"], lang=lang)
    page.goto(f"{live.url}/designer/versions/{version_id}/edit")
    page.locator('#tejun-designer-editor[data-state="ready"]').wait_for(timeout=30_000)
    page.locator(".tejun-file[data-file='research_security_case.bpmn']").click()
    page.locator('#tejun-designer-editor[data-active-file="research_security_case.bpmn"]').wait_for()
    # the palette's entries (their label is what the tooltip and a screen reader say)
    start = page.locator('.djs-palette .entry[data-action="create.start-event"]')
    assert start.get_attribute("aria-label") == words["start"]
    # a user task's context pad and the properties panel's groups
    page.locator('.tejun-modeler-canvas g.djs-shape[data-element-id="call_institution_risk_management"]').click()
    append = page.locator('.djs-context-pad .entry[data-action="append.append-task"]')
    append.wait_for()
    assert append.get_attribute("title") == words["task"]
    headers = page.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert words["general"] in headers, headers
    shot(page, f"japanese-throughout-designer-{lang}")
    # the DMN editor: the decision table's controls
    page.locator(".tejun-file[data-file='risk_rubric_aggregation.dmn']").click()
    table = page.locator(".tejun-dmn-canvas .tjs-table")
    table.wait_for()
    canvas = page.locator(".tejun-dmn-canvas")
    texts = canvas.inner_text() + " ".join(
        t or "" for t in canvas.locator("[title]").evaluate_all("els => els.map(e => e.title)"))
    assert words["hit_policy"] in texts, texts[:400]
    shot(page, f"japanese-throughout-dmn-{lang}")
    page.watch.assert_clean()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_case_diagram_labels_follow_the_readers_language(open_as, demo, svc, live, lang):
    with svc.db.reader() as session:
        case_id = session.scalars(select(Case.id).where(Case.title == demo_cases.FA_REVIEW)).one()
    page = open_as("fa.officer", demo["fa.officer"], lang=lang)
    page.goto(f"{live.url}/cases/{case_id}")
    page.locator('#tejun-diagram[data-state="ready"]').wait_for(timeout=30_000)
    lane = page.locator('#tejun-diagram g.djs-element[data-element-id="lane_research_security_case_security_officer"]')
    assert lane.locator("text").first.text_content().strip() == WORDS[lang]["lane"]
    labels = " ".join(page.locator("#tejun-diagram svg text").all_text_contents())
    assert "security_officer" not in labels and "fa_officer" not in labels
    call = page.locator('#tejun-diagram g.djs-element[data-element-id="call_institution_risk_management"]')
    text = "".join(call.locator("text").all_text_contents())
    if lang == "ja":
        assert "リスクマネジメント" in text and "(" not in text and not any(c.isascii() and c.isalpha() for c in text)
    else:
        assert "risk management" in text.lower() and not any("\u3040" <= c <= "\u9fff" for c in text)
    page.locator("#tejun-diagram").scroll_into_view_if_needed()
    shot(page, f"japanese-throughout-case-diagram-{lang}")
    page.watch.assert_clean()
