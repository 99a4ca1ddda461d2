"""Designers edit lists of items visually (issue 16, gap d), in chromium: a list (an array of objects, such as the
FA's requested measures) is a field kind of the form editor, and its item fields are edited like any other
fields: added, removed, reordered, typed, required, given choices; a new list is made from nothing. The JSON
view and the preview (the task page's own form) follow.

Screenshots: test-artifacts/screenshots/form-editor-list-{ja,en}.png.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from service.designer.store import DEFAULT_SET, latest_published
from tests.browser.live import shot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
ASK_MEASURES = {"ja": "追加的なリスク軽減措置を求める", "en": "Request additional mitigation"}
ITEMS = '["fa_review","requested_measures","[]"]'


def schema_text(page) -> dict:
    page.locator("#tejun-fb-tab-json").click()
    text = page.evaluate("() => document.querySelector('.tejun-json-code').tejunText()")
    page.locator("#tejun-fb-tab-fields").click()
    return json.loads(text)


def requested_measures(schema: dict) -> dict:
    rules = schema["properties"]["fa_review"]["allOf"]
    return next(r["then"]["properties"]["requested_measures"] for r in rules
                if "requested_measures" in r["then"].get("properties", {}))


def rows(builder) -> list[str]:
    fields = builder.locator("li.tejun-fb-field")
    return [fields.nth(i).get_attribute("data-field") for i in range(fields.count())]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_designer_edits_the_fields_of_a_lists_items_visually(svc, world, open_as, live, lang):
    with svc.db.reader() as session:
        version_id = latest_published(session, DEFAULT_SET).id
    page = open_as(world.username("designer"), PASSWORD, lang=lang)
    page.goto(f"{live.url}/designer/versions/{version_id}/edit")
    page.locator("#tejun-designer-editor[data-state=ready]").wait_for()
    page.locator('button.tejun-file[data-file="fa_review.schema.json"]').click()
    page.locator('#tejun-designer-editor[data-active-file="fa_review.schema.json"]').wait_for()
    builder = page.locator(".tejun-form-builder")
    builder.wait_for()

    # the requested measures are a list of items, no longer "edited in the JSON view"
    measures = builder.locator('li[data-field="requested_measures"]')
    assert measures.locator('select[id$="-kind"]').input_value() == "list"
    assert measures.locator('input[type=checkbox]').nth(1).is_checked()  # at least one
    measures.locator('[data-action="edit-items"]').click()
    assert page.locator("#tejun-fb-node").input_value() == ITEMS
    assert rows(builder) == ["measure", "detail"]

    # a new item field: a required choice with its labels, moved up, and one of the old ones removed
    builder.locator('[data-action="add-field"]').click()
    row = builder.locator("li.tejun-fb-field").nth(2)
    row.locator('input[id$="-key"]').fill("priority")
    row.locator('input[id$="-ja"]').fill("優先度")
    row.locator('input[id$="-en"]').fill("Priority")
    row.locator('select[id$="-kind"]').select_option("choice")
    row.locator('textarea[id$="-choices"]').fill("high | 高 | High\nlow | 低 | Low")
    row.locator('input[type=checkbox]').first.check()
    row.locator("button", has_text="↑").click()
    assert rows(builder) == ["measure", "priority", "detail"]
    builder.locator('li[data-field="detail"]').locator("button").last.click()  # remove
    assert rows(builder) == ["measure", "priority"]

    items = requested_measures(schema_text(page))["items"]
    assert list(items["properties"]) == ["measure", "priority"]
    assert items["required"] == ["priority"]
    priority = items["properties"]["priority"]
    assert priority["title"] == "優先度" and priority["x-i18n"]["en"]["title"] == "Priority"
    assert [(c["const"], c["title"], c["x-i18n"]["en"]["title"]) for c in priority["oneOf"]] == [
        ("high", "高", "High"), ("low", "低", "Low")]
    assert items["properties"]["measure"]["x-reference"] == "mitigation_catalog"  # the rest kept as it was

    # the preview (the task page's form) asks for the new field in each requested measure
    # the preview is built again after each edit (data-state "loading" until the rebuild is in)
    preview = page.locator(".tejun-preview-form[data-state=ready]")
    preview.wait_for()
    preview.locator("#root_fa_review_decision").select_option(label=ASK_MEASURES[lang])
    choice = preview.locator("#root_fa_review_requested_measures_0_priority")
    add = preview.locator("#root_fa_review_requested_measures__add")
    expect(choice.or_(add).first).to_be_visible()
    if not choice.count():  # no item yet: add one as the FA officer would
        # a click event, not a pointer click: the preview's layout may still be settling ("element is not
        # stable"), which says nothing about the form under test
        add.dispatch_event("click")
    choice.wait_for()
    assert choice.evaluate("e => e.tagName") == "SELECT"
    assert ("低" if lang == "ja" else "Low") in choice.locator("option").all_inner_texts()
    assert preview.locator("#root_fa_review_requested_measures_0_detail").count() == 0
    shot(page, f"form-editor-list-{lang}")

    # a new list from nothing: a field of the kind "list", then its own item fields
    page.locator("#tejun-fb-node").select_option('["fa_review"]')
    builder.locator('[data-action="add-field"]').click()
    new = [i for i, key in enumerate(rows(builder)) if (key or "").startswith("field_")]
    assert len(new) == 1
    added = builder.locator("li.tejun-fb-field").nth(new[0])  # keeps its place while its key changes
    added.locator('input[id$="-key"]').fill("contacts")
    added.locator('input[id$="-ja"]').fill("連絡先")
    added.locator('select[id$="-kind"]').select_option("list")
    added.locator('[data-action="edit-items"]').click()
    assert page.locator("#tejun-fb-node").input_value() == '["fa_review","contacts","[]"]'
    builder.locator('[data-action="add-field"]').click()
    builder.locator("li.tejun-fb-field").first.locator('input[id$="-key"]').fill("email")
    contacts = schema_text(page)["properties"]["fa_review"]["properties"]["contacts"]
    assert contacts["type"] == "array" and contacts["title"] == "連絡先"
    assert list(contacts["items"]["properties"]) == ["email"] and contacts["items"]["type"] == "object"
    page.watch.assert_clean()
