"""Designers edit forms visually (issue 16, point 7), in chromium: the fields of a form schema as a list kept in
sync with the JSON text, and a preview that is the very form users get (reference lists filled in by the server,
so a choice from a list shows as a list, never a text box).

Screenshots: test-artifacts/screenshots/form-editor-{ja,en}.png, form-editor-json-{ja,en}.png.
"""

from __future__ import annotations

import json

import pytest

from service.designer.store import DEFAULT_SET, latest_published
from tests.browser.live import shot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
CONSULT = {"ja": "関係行政機関に相談する", "en": "Consult another ministry"}
ACCEPT = {"ja": "受理（合意した措置で）", "en": "Accept (with the agreed measures)"}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_designer_edits_a_form_visually_and_previews_the_real_form(svc, world, open_as, live, lang):
    with svc.db.reader() as session:
        version_id = latest_published(session, DEFAULT_SET).id
    page = open_as(world.username("designer"), PASSWORD, lang=lang)
    page.goto(f"{live.url}/designer/versions/{version_id}/edit")
    page.locator("#tejun-designer-editor[data-state=ready]").wait_for()
    page.locator('button.tejun-file[data-file="fa_review.schema.json"]').click()
    page.locator('#tejun-designer-editor[data-active-file="fa_review.schema.json"]').wait_for()

    # the fields of the review, with the decision's own fields shown "only when" it is chosen
    builder = page.locator(".tejun-form-builder")
    builder.wait_for()
    assert page.locator("#tejun-fb-tab-fields").get_attribute("aria-selected") == "true"
    questions = builder.locator('li[data-field="questions"]')
    assert questions.locator('select[id$="-when"]').input_value() == "decision"
    assert json.loads(questions.locator('select[id$="-value"]').input_value()) == "request_information"

    # the preview is the task page's form: choosing to consult a ministry shows the ministries as a list
    preview = page.locator(".tejun-preview-form[data-state=ready]")
    preview.wait_for()
    preview.locator("#root_fa_review_decision").select_option(label=CONSULT[lang])
    ministry = preview.locator("#root_fa_review_ministry_organization_id")
    ministry.wait_for()
    assert ministry.evaluate("e => e.tagName") == "SELECT"
    assert ministry.locator("option").count() >= 2  # the ministries of the database, not a text box

    # a new field: a choice from a reference list, shown only when the decision is "accept"
    builder.locator('[data-action="add-field"]').click()
    rows = builder.locator("li.tejun-fb-field")
    added = [i for i in range(rows.count()) if (rows.nth(i).get_attribute("data-field") or "").startswith("field_")]
    assert len(added) == 1
    row = rows.nth(added[0])  # the new field keeps its place while it is edited (its key changes)
    row.locator('input[id$="-key"]').fill("partner_areas")
    row.locator('input[id$="-ja"]').fill("関係する技術領域")
    row.locator('input[id$="-en"]').fill("Technology areas concerned")
    row.locator('select[id$="-kind"]').select_option("references")
    row.locator('select[id$="-ref"]').select_option("technology_areas")
    row.locator('select[id$="-when"]').select_option("decision")
    row.locator('select[id$="-value"]').select_option(json.dumps("accept"))
    row.locator('input[type=checkbox]').check()
    # the JSON view holds it, as an if/then rule on the decision
    page.locator("#tejun-fb-tab-json").click()
    # the whole document (CodeMirror draws only the lines in view)
    text = page.evaluate("() => document.querySelector('.tejun-json-code').tejunText()")
    assert '"x-reference": "technology_areas"' in text and '"partner_areas"' in text
    shot(page, f"form-editor-json-{lang}")
    page.locator("#tejun-fb-tab-fields").click()
    # and the preview offers it once the decision is "accept"
    page.locator(".tejun-preview-form[data-state=ready]").wait_for()
    page.locator(".tejun-preview-form #root_fa_review_decision").select_option(label=ACCEPT[lang])
    page.locator(".tejun-preview-form").get_by_text("関係する技術領域" if lang == "ja" else "Technology areas concerned"
                                                    ).first.wait_for()
    assert page.locator(".tejun-preview-form").get_by_text("field_", exact=False).count() == 0
    areas = page.locator(".tejun-preview-form #root_fa_review_partner_areas")
    assert areas.evaluate("e => e.tagName") == "SELECT" and areas.locator("option").count() > 3  # the list
    shot(page, f"form-editor-{lang}")
    page.watch.assert_clean()
