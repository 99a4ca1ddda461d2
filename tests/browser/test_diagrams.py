"""Readable diagrams (issue 16, point 6), in chromium: the case diagram opens fitted and centred on the current
step with the path taken highlighted; the designer opens the main process with nothing under its palette.

Screenshots: test-artifacts/screenshots/diagram-case-{ja,en}.png, diagram-designer-{ja,en}.png.
"""

from __future__ import annotations

import pytest

from service.designer.store import DEFAULT_SET, latest_published
from tests.browser.live import shot
from tests.conftest import PASSWORD
from tests.web.helpers import Case

pytestmark = pytest.mark.browser


def _centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_case_diagram_opens_on_the_current_step_with_the_path_taken(svc, world, open_as, live, lang):
    case = Case(svc, world, title="図の確認 / diagram check")
    case.to_disclosure()  # roster done: the disclosure and the managed-data inventory are open
    page = open_as(world.username("security"), PASSWORD, lang=lang)
    page.goto(f"{live.url}/cases/{case.id}")
    page.locator("#tejun-diagram[data-state=ready]").wait_for()
    stage = page.locator(".tejun-diagram-stage").bounding_box()

    # the path taken: completed steps and the flows between them are marked
    assert page.locator(".djs-shape.tejun-completed").count() >= 2
    assert page.locator(".djs-connection.tejun-completed").count() >= 1
    # the current step is in view, around the middle of the stage
    active = page.locator(".djs-shape.tejun-active").first
    box = active.bounding_box()
    assert box is not None
    (ax, ay), (sx, sy) = _centre(box), _centre(stage)
    assert abs(ax - sx) < stage["width"] * 0.3 and abs(ay - sy) < stage["height"] * 0.3, (box, stage)
    # readable: a task is drawn at least 70 px wide (100 diagram units at the readable scale)
    assert box["width"] >= 65, box
    page.locator("#diagram").scroll_into_view_if_needed()
    shot(page, f"diagram-case-{lang}")
    page.watch.assert_clean()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_designer_opens_the_main_process_beside_its_palette(svc, world, open_as, live, lang):
    with svc.db.reader() as session:
        version_id = latest_published(session, DEFAULT_SET).id
    page = open_as(world.username("designer"), PASSWORD, lang=lang)
    page.goto(f"{live.url}/designer/versions/{version_id}/edit")
    page.locator("#tejun-designer-editor[data-state=ready]").wait_for()
    editor = page.locator("#tejun-designer-editor")
    assert editor.get_attribute("data-active-file") == "research_security_case.bpmn"
    palette = page.locator(".tejun-modeler-canvas .djs-palette").bounding_box()
    shapes = page.locator(".tejun-modeler-canvas g.djs-shape")
    assert shapes.count() > 5
    lefts = [b["x"] for b in (shapes.nth(i).bounding_box() for i in range(shapes.count())) if b and b["width"] > 0]
    assert min(lefts) > palette["x"] + palette["width"], (min(lefts), palette)
    shot(page, f"diagram-designer-{lang}")
    page.watch.assert_clean()
