"""Accessibility (issue 16, point 8), in Debian's chromium, in Japanese: every kind of page passes axe-core
(the npm package, service/web/assets/node_modules/axe-core) at WCAG 2.0/2.1 levels A and AA, and axe's best
practices (landmarks, heading order), opened as the person who uses it on the demo data (`flask demo`: cases
standing at every stage), forms also as they show their errors; and the new-case form and a task form can be
filled and submitted with the keyboard alone, every focus stop with a visible outline.

Screenshots: test-artifacts/screenshots/accessibility-focus-ja.png (the new-case form, its button focused),
accessibility-focus-field-ja.png (a field focused).
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from service import demo_cases
from service.clock import JST
from service.designer.store import latest_published
from service.models import Case, ModelVersion, Organization, User, WorkItem
from tests.browser.live import ROOT, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "service" / "web" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# and axe's best practices on top (landmarks, heading order, one <h1>, table headers, …): what a screen reader
# user navigates by, though WCAG itself does not name them
TAGS += ["best-practice"]

# Parts of a page axe does not look at, each with the reason. Only third-party widgets whose markup tejun does
# not write belong here.
EXCLUDE: list[str] = []

# Violations left on purpose: (path part, rule id, selector part every node of it has) -> why.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("/edit", "empty-table-header", ".index-column"):
        "dmn-js draws its decision table with an empty header cell above the rule numbers (best practice, not "
        "WCAG A/AA); its markup, not tejun's",
}


def _axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run service/web/assets/build.sh (npm ci installs axe-core)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, exclude: list[str] = ()) -> list[dict]:
    """Run axe on the page as it stands; return its violations, each with its nodes' target selectors.

    axe is evaluated through the DevTools protocol (page.evaluate), not added as a <script>: the app's CSP
    (script-src 'self') refuses inline scripts, and page.add_script_tag(content=...) would be one (and would be
    reported as a CSP violation by the page watch). Evaluating it leaves the page's CSP as it is."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    context = {"exclude": [[s] for s in [*EXCLUDE, *exclude]]} if [*EXCLUDE, *exclude] else None
    return page.evaluate(
        """async ([context, tags]) => {
            const result = await axe.run(context || document,
                {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }""",
        [context, TAGS],
    )


def describe(path: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        targets = "; ".join(n["target"] for n in v["nodes"][:8]) + (" …" if len(v["nodes"]) > 8 else "")
        lines.append(f"{path}: {v['id']} ({v['impact']}) {v['help']} — {len(v['nodes'])} node(s): {targets}")
    return lines


@pytest.fixture(scope="module")
def demo(app, settings):
    result = app.test_cli_runner().invoke(args=["demo", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((settings.instance_path / "demo-accounts.json").read_text())


@pytest.fixture(scope="module")
def ids(demo, app):
    svc = app.extensions["tejun"]
    with svc.db.reader() as session:
        case = {title: session.scalars(select(Case.id).where(Case.title == title)).one()
                for title in (demo_cases.ROSTER, demo_cases.DISCLOSURES, demo_cases.FA_REVIEW,
                              demo_cases.ASSESSMENT)}

        def task(title: str, element: str, username: str | None = None) -> str:
            query = select(WorkItem.task_id).where(WorkItem.case_id == case[title], WorkItem.element_id == element)
            if username:
                query = query.join(User, User.id == WorkItem.assignee_id).where(User.username == username)
            return session.scalars(query).first()

        user_id = session.scalars(select(User.id).where(User.username == "a.researcher")).one()
        return {
            "case": case,
            "roster_task": task(demo_cases.ROSTER, "fix_team_roster"),
            "disclosure_task": task(demo_cases.DISCLOSURES, "fill_disclosure", "a.researcher"),
            "version": latest_published(session).id,
            "researcher": user_id,
            "organization": session.scalars(select(Organization.id).where(Organization.code == "toto-u")).one(),
            "set": session.get(ModelVersion, latest_published(session).id).set_name,
        }


def _in_editor(file: str, ready: str):
    """A file of the version opened in the designer's editor (the page stays; the editor swaps its view)."""
    def open_file(page) -> None:
        page.locator(f'button.tejun-file[data-file="{file}"]').click()
        page.locator(f'#tejun-designer-editor[data-active-file="{file}"]').wait_for()
        page.locator(ready).first.wait_for(timeout=30_000)
    return open_file


def _refused(form: str, summary: str):
    """The form sent empty: the page as it shows the errors (summary and messages at the fields)."""
    def submit_empty(page) -> None:
        page.locator(f"{form} button[type=submit]").first.click()
        page.locator(summary).first.wait_for()
    return submit_empty


def _pages(ids) -> dict[str, list[tuple]]:
    """Who opens which page: username -> [(path, what to wait for: a selector, or a step on the page as it is
    (path None: the page stays, e.g. another file in the editor)), expected HTTP status]."""
    case = ids["case"]
    roster_case, fa_case = case[demo_cases.ROSTER], case[demo_cases.FA_REVIEW]
    version = ids["version"]
    return {
        "a.security": [
            ("/", None),
            ("/?tab=team", None),
            (f"/tasks/{ids['roster_task']}", "form.tejun-rjsf"),
            (None, _refused("form.tejun-rjsf", ".tejun-error-summary")),
            (f"/cases/{roster_case}", "#tejun-diagram[data-state=ready]"),
            (f"/cases/{roster_case}/roster-import", None),
            ("/cases", None),
            ("/cases/new", None),
            (None, _refused("form.tejun-form", ".tejun-error-summary")),
            ("/notifications?show=all", None),
            (f"/screening/cases/{case[demo_cases.ASSESSMENT]}", None),
            ("/screening", None),
            ("/screening/lists", None),
            ("/cases/999999999", None, 404),
        ],
        "a.researcher": [
            (f"/tasks/{ids['disclosure_task']}", "form.tejun-rjsf"),
            ("/disclosure", None),
        ],
        "fa.officer": [
            (f"/cases/{fa_case}", "#tejun-diagram[data-state=ready]"),
            ("/designations/new", None),
            ("/erad", None),
        ],
        "fa.manager": [
            ("/dashboard", "#stages canvas"),
        ],
        "designer": [
            ("/designer/", None),
            (f"/designer/sets/{ids['set']}", None),
            (f"/designer/versions/{version}", None),
            ("/designer/upload", None),
            (f"/designer/versions/{version}/edit", "#tejun-designer-editor[data-state=ready]"),
            (None, _in_editor("fa_review.schema.json", ".tejun-preview-form[data-state=ready]")),  # form editor
            (None, _in_editor("risk_rubric_aggregation.dmn", ".tejun-dmn-canvas .tjs-table")),  # DMN editor
        ],
        "admin": [
            ("/admin/", None),
            ("/admin/organizations", None),
            ("/admin/organizations/new", None),
            (f"/admin/organizations/{ids['organization']}", None),
            ("/admin/users", None),
            ("/admin/users/new", None),
            (f"/admin/users/{ids['researcher']}", None),
            ("/admin/cases-in-error", None),
        ],
        "auditor": [
            ("/audit/", None),
            (f"/audit/cases/{fa_case}", None),
            (f"/audit/cases/{fa_case}/report.html", None),
            ("/dashboard", "#stages canvas"),
        ],
    }


def _open(page, path: str | None, ready, status: int = 200) -> str:
    if path is not None:
        response = page.goto(f"{page.live.url}{path}")
        assert response.status == status, (path, response.status)  # the page itself, not an error page
    if callable(ready):
        ready(page)
    elif ready:
        page.locator(ready).first.wait_for(timeout=30_000)
    return page.url.removeprefix(page.live.url)


def test_every_page_passes_axe_in_japanese(demo, ids, open_as, chromium_browser, live):
    found: list[str] = []
    allowed_seen: list[str] = []
    watches = []

    def check(page, path: str) -> None:
        for v in axe_violations(page):
            key = next((k for k in ALLOWED if k[0] in path and k[1] == v["id"]
                        and all(k[2] in n["target"] for n in v["nodes"])), None)
            (allowed_seen if key else found).extend(describe(path, [v]))

    anonymous = chromium_browser.new_context(locale="ja-JP")
    login = anonymous.new_page()
    login.goto(f"{live.url}/login")
    check(login, "/login")
    anonymous.close()

    for username, visits in _pages(ids).items():
        page = open_as(username, demo[username])
        for path, ready, *status in visits:
            where = _open(page, path, ready, *status)
            name = where + (f" ({ready.__qualname__.split('.')[0]})" if callable(ready) else "")
            assert page.locator("html").get_attribute("lang") == "ja", name
            check(page, name)
            if status or where.endswith("report.html"):  # chrome logs the 404 of the missing page itself, and
                # asks a stand-alone document (the report) for /favicon.ico
                page.watch.console = [(k, t) for k, t in page.watch.console if "status of 404" not in t]
        watches.append(page.watch)
    if allowed_seen:
        print("allowed violations:\n" + "\n".join(allowed_seen))
    assert not found, f"{len(found)} accessibility violation(s):\n" + "\n".join(found)
    for watch in watches:
        watch.assert_clean()


# -- the keyboard alone -----------------------------------------------------------------------------------------
FOCUS_STYLE = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    const ring = s.boxShadow && s.boxShadow !== 'none';
    return {visible: outline || ring, what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : ''),
            text: (e.innerText || e.value || '').slice(0, 30)};
}"""


class Keyboard:
    """Moves through a page with Tab / Shift+Tab only, and notes every stop that shows no focus outline."""

    def __init__(self, page):
        self.page = page
        self.unmarked: list[dict] = []

    def tab_to(self, selector: str, *, back: bool = False, limit: int = 250) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            focused = self.page.evaluate(FOCUS_STYLE)
            if focused and not focused["visible"] and focused not in self.unmarked:
                self.unmarked.append(focused)
            if self.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} is not reachable with {'Shift+Tab' if back else 'Tab'}")

    def assert_focus_always_visible(self) -> None:
        assert not self.unmarked, f"focus stops without a visible outline: {self.unmarked}"


def type_date(page, selector: str, iso: str) -> None:
    """Types a date into the focused date field. Chromium lays its parts out in the browser's own locale (this
    headless one: month / day / year; a Japanese one: year / month / day) and moves to the next part by itself
    once one is complete (a year only in the month/day/year layout)."""
    year, month, day = iso.split("-")
    page.keyboard.type(month + day + year)
    if page.locator(selector).input_value() != iso:  # year first: back into the field, year, →, month, day
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        page.keyboard.type(year)
        page.keyboard.press("ArrowRight")
        page.keyboard.type(month + day)
    assert page.locator(selector).input_value() == iso


def test_a_case_is_opened_with_the_keyboard_alone(demo, ids, open_as):
    page = open_as("a.security", demo["a.security"])
    page.goto(f"{page.live.url}/cases/new")
    keys = Keyboard(page)
    keys.tab_to("#call_id")
    page.keyboard.press("ArrowDown")  # the first call (a closed select changes with the arrow keys)
    assert page.locator("#call_id").input_value() != ""
    keys.tab_to("#title")
    page.keyboard.type("キーボードだけで開いた案件")
    shot(page, "accessibility-focus-field-ja")
    keys.tab_to("#erad_project_number")
    page.keyboard.type("KB-0001")
    keys.tab_to("#project_end_date")
    type_date(page, "#project_end_date", "2029-03-31")
    keys.tab_to("input[name=variant]")
    page.keyboard.press("ArrowDown")  # radio buttons: the arrows choose
    assert page.locator("input[name=variant][value=foreign_joint]").is_checked()
    page.keyboard.press("ArrowUp")
    assert page.locator("input[name=variant][value=domestic]").is_checked()
    keys.tab_to("form.tejun-form button[type=submit]")
    # back and forth: Shift+Tab returns to the title, Tab comes back to the button
    keys.tab_to("#title", back=True)
    keys.tab_to("form.tejun-form button[type=submit]")
    shot(page, "accessibility-focus-ja")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    page.get_by_text("を開始しました").first.wait_for()
    assert "キーボードだけで開いた案件" in page.locator("main").inner_text()
    keys.assert_focus_always_visible()
    page.watch.assert_clean()


def test_a_task_form_is_filled_and_submitted_with_the_keyboard_alone(demo, ids, open_as):
    """The researcher's own disclosure (a long RJSF form: text fields, yes/no boxes, arrays, a date)."""
    page = open_as("a.researcher", demo["a.researcher"])
    page.goto(f"{page.live.url}/tasks/{ids['disclosure_task']}")
    page.locator("form.tejun-rjsf").wait_for()
    keys = Keyboard(page)
    prefix = "#root_disclosure_"
    for field, text in (("identity_name", "伊藤 直樹"), ("identity_affiliation", "東都大学")):
        keys.tab_to(f"{prefix}{field}")
        if not page.locator(f"{prefix}{field}").input_value():  # pre-filled from the profile, or typed
            page.keyboard.type(text)
    # required yes/no questions answered "no": checked and unchecked with Space (touched, so the form holds false)
    for box in ("disciplinary_history_has_history", "restricted_list_currently_listed_affiliation",
                "restricted_list_listed_funding", "restricted_list_past_listed_affiliation",
                "restricted_list_ties_to_listed_researchers"):
        keys.tab_to(f"{prefix}{box}")
        page.keyboard.press("Space")
        page.keyboard.press("Space")
        assert not page.locator(f"{prefix}{box}").is_checked()
    for box in ("certification_consent", "certification_certified"):  # the declarations: an affirmative act
        keys.tab_to(f"{prefix}{box}")
        assert not page.locator(f"{prefix}{box}").is_checked()
        page.keyboard.press("Space")
        assert page.locator(f"{prefix}{box}").is_checked()
    keys.tab_to(f"{prefix}certification_certification_date")
    if not page.locator(f"{prefix}certification_certification_date").input_value():
        type_date(page, f"{prefix}certification_certification_date", datetime.now(JST).date().isoformat())
    keys.tab_to("form.tejun-rjsf button[type=submit]")
    page.keyboard.press("Enter")
    try:
        page.wait_for_url(f"{page.live.url}/")
    except Exception:
        shot(page, "accessibility-keyboard-failed-submit")
        errors = page.locator(".tejun-error-summary, .tejun-banner").all_inner_texts()
        raise AssertionError(f"the form was not accepted: {errors}") from None
    page.get_by_text("提出しました。").wait_for()
    keys.assert_focus_always_visible()
    page.watch.assert_clean()
