"""A process designer's whole journey in Debian's chromium, against the real app served from a thread:

edit the loop model's diagram in the bpmn-js modeler (a new user task step) and its review form in the JSON
editor (with the live preview), validate (a problem marked on the diagram, then fixed), save as a draft,
compare, publish, see new cases start on it while old cases stay, preview and migrate running cases with
the progress display reaching done. No CSP violation, console error or uncaught error on any page.
Screenshots: test-artifacts/screenshots/designer-*.png.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from service.cases import commands, migration
from service.designer import versions
from service.models import Case, ModelVersion, WorkItem
from tests.browser.live import CHROMIUM_ARGS, LAPTOP, SHOTS, LiveServer, Watch, need_chromium
from tests.conftest import DATA, PASSWORD

pytestmark = pytest.mark.browser

LOOP = DATA / "models" / "loop_diagram"
REVIEW_WITH_NOTE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "審査",
    "x-i18n": {"en": {"title": "Review"}},
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {"type": "string", "enum": ["again", "accept"], "title": "判断"},
        "note": {"type": "string", "title": "審査所見", "x-i18n": {"en": {"title": "Reviewer's note"}}},
    },
}


@pytest.fixture(scope="module")
def designer_live(app):
    need_chromium()
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def designer_browser(designer_live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(need_chromium()), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"designer-{name}.png"), full_page=True)


def sign_in(browser, live, username: str):
    context = browser.new_context(viewport={**LAPTOP, "height": 1000}, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.watch = Watch(page)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    page.goto(f"{live.url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("button[type=submit]").last.click()
    page.wait_for_url(f"{live.url}/")
    return page


def start_cases(svc, world, set_name: str, n: int) -> list[int]:
    return [commands.start_case(svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
                                title=f"journey {i}", process_id="loop_case", model_set=set_name).case_id
            for i in range(n)]


def to_review(svc, world, case_id: int) -> None:
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    commands.complete_task(svc, world.actor("security"), item.task_id, {"summary": "s"})


def shape(page, element_id: str):
    return page.locator(f'.tejun-modeler-canvas g.djs-element[data-element-id="{element_id}"]')


def click_into_flow_before(page, target_id: str, distance: float = 60) -> None:
    """Click the horizontal end of the sequence flow entering `target_id` from the left, `distance` diagram
    units before the target (a flow's bounding-box centre may lie off its line)."""
    box = shape(page, target_id).bounding_box()
    scale = box["width"] / 100  # tasks are 100 units wide
    page.mouse.click(box["x"] - distance * scale, box["y"] + box["height"] / 2)


def context_pad(page, action: str):
    return page.locator(f'.djs-context-pad .entry[data-action="{action}"]')


def test_a_designer_edits_validates_publishes_and_migrates(app, svc, world, designer_live, designer_browser):
    live = designer_live
    set_name = f"journey-{world.tag}"
    designer = world.actor("designer")
    v1, _ = versions.upload_draft(svc, designer, {p.name: p.read_bytes() for p in LOOP.iterdir()}, "loop",
                                  set_name=set_name)
    versions.publish(svc, designer, v1)
    old_cases = start_cases(svc, world, set_name, 4)
    for case_id in old_cases[:2]:
        to_review(svc, world, case_id)
    migration.run_jobs(svc)  # leave no other job ahead of ours in the worker's queue

    page = sign_in(designer_browser, live, world.username("designer"))
    page.get_by_role("link", name="プロセスモデル").click()
    page.get_by_role("link", name=set_name).click()
    page.get_by_role("link", name=f"#{v1}", exact=True).click()
    shot(page, "version")

    # -- the modeler: append a user task after "Count the round", before the review ---------------------
    page.get_by_role("link", name="編集（新しい下書きとして）").click()
    editor = page.locator("#tejun-designer-editor")
    editor.locator('[data-state="ready"]').or_(page.locator('#tejun-designer-editor[data-state="ready"]')).wait_for()
    assert editor.get_attribute("data-active-file") == "loop.bpmn"
    shape(page, "count_round").click()
    context_pad(page, "append.append-task").click()
    page.keyboard.type("所見の確認")
    page.keyboard.press("Enter")  # ends label editing; the new task stays selected
    new_task = page.locator('.tejun-modeler-canvas g.djs-shape.selected[data-element-id^="Activity_"]')
    new_task.wait_for()
    new_id = new_task.get_attribute("data-element-id")
    context_pad(page, "replace").click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    page.locator(f'.tejun-modeler-canvas g.djs-shape[data-element-id="{new_id}"] .djs-visual path').first.wait_for()
    assert "selected" in shape(page, new_id).get_attribute("class")  # a user task now (same id), still selected
    # the old flow from "Count the round" to the review goes; the new task leads to the review instead
    click_into_flow_before(page, "review")
    f3 = page.locator('.tejun-modeler-canvas g.djs-connection[data-element-id="f3"]')
    assert "selected" in f3.get_attribute("class")
    context_pad(page, "delete").click()
    shape(page, new_id).click()
    context_pad(page, "connect").click()
    shape(page, "review").click()
    assert page.locator(".tejun-file[data-file='loop.bpmn'] .tejun-file-flag").inner_text() == "変更"

    # -- validate: the new task has no form yet, which is marked on it -------------------------------------
    page.get_by_role("button", name="検証する").click()
    problem = page.locator(f'.tejun-problem[data-element="{new_id}"]')
    problem.wait_for()
    assert "no form" in problem.inner_text()
    assert shape(page, new_id).get_attribute("class").split().count("tejun-problem") == 1
    assert page.locator(".tejun-problem-badge").count() >= 1
    shot(page, "validation-problem")
    problem.click()  # goes to the element: selected, its properties open
    assert "selected" in shape(page, new_id).get_attribute("class")
    form_select = page.locator("select[name='tejun-form']")
    form_select.wait_for()
    form_select.select_option("review.schema.json")
    page.locator("select[name='tejun-stage']").select_option("fa_review")
    page.locator(".tejun-problems[data-stale] .tejun-stale").wait_for()  # the list is from before the fix
    shot(page, "modeler-properties")

    # -- the review form in the JSON editor, with its live preview -----------------------------------------
    page.locator(".tejun-file[data-file='review.schema.json']").click()
    page.locator(".tejun-form-builder").wait_for()  # a form schema opens on its field list
    page.locator("#tejun-fb-tab-json").click()  # the JSON text: the advanced view
    page.locator(".tejun-json-code .cm-content").wait_for()
    preview = page.locator(".tejun-preview-form")
    preview.get_by_label("判断").wait_for()
    page.locator(".tejun-json-code .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(json.dumps(REVIEW_WITH_NOTE, ensure_ascii=False, indent=2))
    preview.get_by_label("審査所見").wait_for()
    page.locator("#tejun-preview-lang").select_option("en")
    preview.get_by_label("Reviewer's note").wait_for()
    shot(page, "json-editor")

    # -- validate again: clean; save as a draft ------------------------------------------------------------
    page.get_by_role("button", name="検証する").click()
    page.locator(".tejun-problems[data-count='0']").wait_for()
    assert page.locator(f'.tejun-problem[data-element="{new_id}"]').count() == 0
    page.locator("#tejun-draft-comment").fill("所見の確認ステップと審査所見欄")
    page.get_by_role("button", name="下書きとして保存").click()
    page.wait_for_url(re.compile(r"/designer/versions/\d+$"))
    v2 = int(page.url.rsplit("/", 1)[1])
    assert v2 != v1
    assert "下書き" in page.locator("[data-field=status]").inner_text()
    with svc.db.reader() as session:
        draft = session.get(ModelVersion, v2)
        files = {f.path: f.content for f in draft.files}
    assert (draft.status, draft.comment) == ("draft", "所見の確認ステップと審査所見欄")
    assert json.loads(files["review.schema.json"])["properties"]["note"]["title"] == "審査所見"
    saved = files["loop.bpmn"].decode()
    assert f'<bpmn:userTask id="{new_id}" name="所見の確認"' in saved
    assert 'name="formJsonSchemaFilename" value="review.schema.json"' in saved
    assert f'<bpmn:flowNodeRef>{new_id}</bpmn:flowNodeRef>' in saved

    # -- compare with v1: the new step and the changed form, listed and marked on the diagram --------------
    page.locator("#compare-old").select_option(str(v1))
    page.get_by_role("button", name="変更を表示").click()
    diagram = page.locator('.tejun-designer-diagram[data-version="new"]')
    page.locator('.tejun-designer-diagram[data-version="new"][data-state="ready"]').wait_for()
    assert f"added:{new_id}" in diagram.get_attribute("data-marked").split()
    assert page.locator('[data-element-change="added"]').all_inner_texts() == [f"所見の確認 {new_id}"]
    assert page.locator("[data-forms-changed]").inner_text() == "review.schema.json"
    marked = page.locator(f'.tejun-designer-diagram g.djs-element.tejun-diff-added[data-element-id="{new_id}"]')
    assert marked.count() == 1
    shot(page, "diff")
    page.watch.assert_clean()

    # -- publish: new cases follow, old cases stay -----------------------------------------------------------
    page.goto(f"{live.url}/designer/versions/{v2}")
    page.get_by_role("button", name="公開する").click()
    page.locator(".flash").filter(has_text=f"#{v2}").wait_for()
    assert "公開" in page.locator("[data-field=status]").inner_text()
    (new_case,) = start_cases(svc, world, set_name, 1)
    with svc.db.reader() as session:
        assert session.get(Case, new_case).model_version_id == v2
        assert {session.get(Case, c).model_version_id for c in old_cases} == {v1}
    page.goto(f"{live.url}/designer/sets/{set_name}")
    running = dict(zip(page.locator("tr[data-version]").evaluate_all("rows => rows.map(r => r.dataset.version)"),
                       page.locator("tr[data-version] .tejun-running").all_inner_texts(), strict=True))
    assert running == {str(v2): "1", str(v1): "4"}
    shot(page, "published")

    # -- migrate three of the four old cases: preview, then a job with its progress ---------------------------
    page.goto(f"{live.url}/designer/versions/{v2}")
    page.get_by_role("link", name="進行中の案件をこのバージョンに移行").click()
    with svc.db.reader() as session:
        references = {c: session.get(Case, c).reference for c in old_cases}
    assert page.locator(".tejun-case-picker tbody tr").count() == 4
    for case_id in old_cases[:3]:
        page.get_by_label(f"{references[case_id]} を選択").check()
    page.get_by_role("button", name="選んだ案件をプレビュー").click()
    rows = page.locator("tr[data-case]")
    assert rows.count() == 3
    assert page.locator('tr[data-can-migrate="yes"]').count() == 3
    shot(page, "preview")
    page.get_by_role("button", name=re.compile("移行できる 3 件")).click()
    page.wait_for_url(re.compile(r"/designer/migrations/\d+$"))
    bar = page.locator("[data-job-bar]")
    assert page.locator("#tejun-migration").get_attribute("data-status") == "queued"

    # the timer worker's part, a case at a time; after each, wait until the polling page shows the progress
    # (a condition, not a pause: progress is seen on the way, not only at the end)
    count = page.locator("[data-job-count]")
    for done in (1, 2, 3):
        assert migration.run_jobs(svc, limit_cases=1) == 1
        count.filter(has_text=f"{done} / 3").wait_for(timeout=30_000)
    assert migration.run_jobs(svc, limit_cases=1) == 0
    page.wait_for_function("document.querySelector('#tejun-migration').dataset.status === 'done'", timeout=30_000)
    assert bar.get_attribute("value") == "3" and bar.get_attribute("max") == "3"
    assert page.locator("[data-job-results] tr").count() == 3
    assert page.locator('[data-count="migrated"] strong').inner_text() == "3"
    shot(page, "migration-done")
    page.watch.assert_clean()
    with svc.db.reader() as session:
        on = {c: session.get(Case, c).model_version_id for c in old_cases}
    assert on == {old_cases[0]: v2, old_cases[1]: v2, old_cases[2]: v2, old_cases[3]: v1}
    page.context.close()


def test_the_real_procedure_opens_in_every_editor(svc, world, designer_live, designer_browser):
    """The procedure of bpmn/ and forms/ (the default set): its diagrams load in the modeler without losing
    anything, its decision tables in dmn-js, its forms in the JSON editor with their preview; it validates."""
    from service.designer.store import latest_published

    with svc.db.reader() as session:
        version = latest_published(session)
        if version is None:
            pytest.skip("no published default model set (bpmn/ is empty)")
        version_id = version.id
        files = {f.path: f.content for f in version.files}
        names = sorted(files)
    page = sign_in(designer_browser, designer_live, world.username("designer"))
    page.goto(f"{designer_live.url}/designer/versions/{version_id}/edit")
    page.locator('#tejun-designer-editor[data-state="ready"]').wait_for(timeout=30_000)
    for name in [n for n in names if n.endswith(".bpmn")]:
        page.locator(f".tejun-file[data-file='{name}']").click()
        page.locator(f'#tejun-designer-editor[data-active-file="{name}"]').wait_for()
        assert page.locator(".tejun-editor-banner .tejun-banner").count() == 0, f"{name}: content would be lost"
        assert page.locator(".tejun-modeler-canvas g.djs-shape").count() > 3, name
    last = [n for n in names if n.endswith(".bpmn")][-1]
    user_task = re.search(rb'<bpmn:userTask id="([^"]+)"', files[last]).group(1).decode()
    shape(page, user_task).click()  # a user task of the procedure, with its form in the properties
    assert page.locator("select[name='tejun-form']").input_value().endswith(".schema.json")
    shot(page, "procedure-modeler")
    dmn = next(n for n in names if n.endswith(".dmn"))
    page.locator(f".tejun-file[data-file='{dmn}']").click()
    page.locator(".tejun-dmn-canvas .tjs-table").wait_for()
    assert page.locator(".tejun-dmn-canvas .tjs-table tbody tr").count() >= 1
    shot(page, "procedure-dmn")
    form = next(n for n in names if n.endswith(".schema.json") and not n.endswith(".uischema.json"))
    page.locator(f".tejun-file[data-file='{form}']").click()
    page.locator(".tejun-preview-form form.tejun-rjsf").wait_for()
    assert page.locator(".tejun-file-flag").count() == 0  # opening files changes nothing
    page.get_by_role("button", name="検証する").click()
    page.locator(".tejun-problems[data-count='0']").wait_for(timeout=60_000)
    shot(page, "procedure-form")
    page.watch.assert_clean()
    page.context.close()
