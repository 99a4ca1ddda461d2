"""The browser bundles (service/web/assets -> static/vendor) in Debian's chromium, under tejun's CSP.

The pages and fake endpoints are in assets_fixture/ (see server.py there). Every page is served with
`script-src 'self'` and no 'unsafe-eval'; each test collects the page's `securitypolicyviolation` events,
console messages and uncaught errors and fails on any of them (expected 4xx responses aside).

Skips only when /usr/bin/chromium is missing and CI is not "true"; under CI=true that is a failure.
Screenshots go to test-artifacts/screenshots/assets-*.png.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = ROOT / "service" / "web" / "assets" / "build.sh"
VENDOR = ROOT / "service" / "web" / "static" / "vendor"
FIXTURE = Path(__file__).resolve().parent / "assets_fixture"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"

# Chrome logs every 4xx answer to fetch() as a console error; the tests provoke these on purpose.
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: .* status of (409|413|415|422|500)")
CSP_CONSOLE = re.compile(r"Content Security Policy|unsafe-eval|Refused to")

WATCH_JS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__tejunViolation({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample || ''});
});
"""


# --- set-up ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; required under CI=true")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def assets(chromium) -> Path:
    """Builds (or confirms up to date, in milliseconds) the bundles with the repository's own build script."""
    if shutil.which("npm"):
        run = subprocess.run([str(BUILD_SH)], capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            pytest.fail(f"build.sh failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    for name in ("form.js", "diagram.js", "app.js", "bpmn-js/diagram-js.css", "bpmn-js/bpmn-js.css"):
        if not (VENDOR / name).is_file():
            pytest.fail(f"{VENDOR / name} is missing and npm is not available to run {BUILD_SH}")
    return VENDOR


def _diagram_under_test() -> dict:
    """The case process (or the first repository BPMN file) with a start event and two tasks in its diagram,
    else the fixture's."""
    tasks = {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
    }
    files = sorted((ROOT / "bpmn").glob("*.bpmn"), key=lambda p: (p.stem != "research_security_case", p.name))
    for path in files:
        try:
            tree = ET.parse(path)
        except ET.ParseError:
            continue
        plane = tree.find(f".//{BPMNDI}BPMNDiagram/{BPMNDI}BPMNPlane")
        if plane is None:
            continue
        shown = {s.get("bpmnElement") for s in plane.iter(f"{BPMNDI}BPMNShape")}
        process_ids = [plane.get("bpmnElement")] + [
            p.get("processRef") for p in tree.iter(f"{BPMN}participant")
        ]
        for process in tree.iter(f"{BPMN}process"):
            if process.get("id") not in process_ids:
                continue
            nodes = [(n.tag.removeprefix(BPMN), n.get("id")) for n in process if n.get("id") in shown]
            starts = [i for tag, i in nodes if tag == "startEvent"]
            acts = [i for tag, i in nodes if tag in tasks]
            if starts and len(acts) >= 2:
                return {
                    "xml_path": path,
                    "completed": [starts[0], acts[0]],
                    "active": [acts[1]],
                    "process_id": process.get("id"),
                }
    return {
        "xml_path": FIXTURE / "process.bpmn",
        "completed": ["start", "f1", "fill_disclosure", "f2"],
        "active": ["review"],
        "process_id": "fixture_case",
    }


@pytest.fixture(scope="module")
def server(assets):
    spec = importlib.util.spec_from_file_location("tejun_assets_fixture_server", FIXTURE / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.FixtureServer(_diagram_under_test()) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watch:
    """What a page reported: CSP violations, console messages, uncaught errors."""

    def __init__(self, page):
        self.violations: list[dict] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.expose_function("__tejunViolation", lambda v: self.violations.append(v))
        page.add_init_script(WATCH_JS)
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self):
        csp_console = [t for _, t in self.console if CSP_CONSOLE.search(t)]
        console_errors = [t for kind, t in self.console if kind == "error" and not EXPECTED_CONSOLE.search(t)]
        assert not self.violations, f"CSP violations: {self.violations}"
        assert not csp_console, f"CSP messages on the console: {csp_console}"
        assert not console_errors, f"console errors: {console_errors}"
        assert not self.errors, f"uncaught errors: {self.errors}"


@pytest.fixture
def page(browser, server, request):
    context = browser.new_context(viewport=LAPTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.watch = Watch(page)
    page.server = server
    server.requests.clear()
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"assets-{name}.png"), full_page=True)


def open_form(page, query: str = "") -> None:
    page.goto(f"{page.server.url}/form.html{query}")
    page.locator("form.tejun-rjsf").wait_for()


def posts(page, path_end: str) -> list[dict]:
    return [r for r in page.server.requests if r["path"].endswith(path_end)]


# --- the CSP itself --------------------------------------------------------------------------------


def test_csp_header_is_enforced_and_violations_are_seen(page):
    page.goto(f"{page.server.url}/csp-canary.html")
    page.wait_for_function("document.body.dataset.eval !== undefined")
    assert page.locator("body").get_attribute("data-inline") == "not run"
    assert page.locator("body").get_attribute("data-eval") == "blocked"
    for _ in range(50):  # the events arrive through an exposed function, asynchronously
        if len(page.watch.violations) >= 2:
            break
        page.wait_for_timeout(100)
    directives = {v["directive"] for v in page.watch.violations}
    assert "script-src-elem" in directives or "script-src" in directives  # the watcher works


# --- form.js ---------------------------------------------------------------------------------------


def test_form_renders_schema_and_uischema_in_japanese(page):
    open_form(page)
    assert page.get_by_label("研究課題名").input_value() == "量子センシングの基盤研究"
    assert page.get_by_label("研究課題名").get_attribute("required") is not None
    described_by = page.get_by_label("研究者番号").get_attribute("aria-describedby").split()
    assert described_by[-1] == "root_erad_id__help"
    assert page.locator("#root_erad_id__help").inner_text() == "e-Rad の研究者番号（8桁）"  # ui:help {ja, en}
    assert page.get_by_label("氏名").input_value() == "山田 花子"
    assert page.get_by_label("役割").locator("option:checked").inner_text() == "研究代表者"
    assert page.get_by_label("連絡方法").evaluate("e => e.tagName") == "SELECT"  # label bound to the chooser
    assert page.get_by_role("button", name="提出する").is_visible()
    assert page.get_by_role("button", name="下書きを保存").is_visible()
    assert page.get_by_role("button", name="行を追加").is_visible()
    assert page.get_by_role("button", name="削除: メンバー 1").is_visible()
    assert page.get_by_label("添付資料").get_attribute("type") == "file"
    shot(page, "form-laptop")
    page.set_viewport_size(TABLET)
    shot(page, "form-tablet")
    page.watch.assert_clean()


def test_form_in_english_uses_x_i18n(page):
    open_form(page, "?lang=en")
    assert page.get_by_label("Project title").input_value() == "量子センシングの基盤研究"
    placeholder = page.get_by_label("Project title").get_attribute("placeholder")
    assert placeholder == "e.g. Foundations of quantum sensing"
    assert page.get_by_role("button", name="Submit").is_visible()
    assert page.get_by_role("button", name="Save draft").is_visible()
    assert page.get_by_role("button", name="Add Item").is_visible()
    assert page.get_by_role("button", name="Remove: Member 1").is_visible()
    assert page.get_by_label("Role").locator("option:checked").inner_text() == "Principal investigator"
    page.get_by_label("Project title").fill("")
    page.get_by_role("button", name="Submit").click()
    assert page.locator("#root_project_title__error").inner_text() == "This field is required."
    shot(page, "form-en")
    page.watch.assert_clean()


def test_array_of_objects_rows_can_be_added_and_removed(page):
    open_form(page)
    rows = page.locator(".tejun-array-item")
    assert rows.count() == 1
    page.get_by_role("button", name="行を追加").click()
    assert rows.count() == 2
    row = page.get_by_role("group", name="メンバー 2")
    row.get_by_label("氏名").fill("佐藤 一郎")
    row.get_by_label("メールアドレス").fill("ichiro@example.ac.jp")
    page.get_by_role("button", name="削除: メンバー 2").click()
    assert rows.count() == 1
    assert page.get_by_label("氏名").input_value() == "山田 花子"
    page.watch.assert_clean()


def test_client_side_validation_and_conditional_fields_run_without_eval(page):
    open_form(page)
    page.get_by_label("研究課題名").fill("")
    page.get_by_label("研究者番号").fill("12")
    page.locator("#root_members_0_email").fill("not-an-address")
    # oneOf: the chosen option's fields are shown and validated (RJSF picks options with isValid)
    page.get_by_label("連絡方法").select_option(label="電話")
    page.get_by_label("電話番号").fill("abc")
    # dependencies: the extra field appears when the box is ticked
    assert page.get_by_label("資金の提供元").count() == 0
    page.get_by_label("外国からの資金を受け入れている").check()
    page.get_by_label("資金の提供元").wait_for()
    page.get_by_role("button", name="提出する").click()

    summary = page.locator(".tejun-error-summary")
    summary.wait_for()
    assert page.locator("#root_project_title__error").inner_text() == "入力してください。"
    assert page.locator("#root_erad_id__error").inner_text() == "形式が正しくありません。"
    assert "メールアドレスの形式" in page.locator("#root_members_0_email__error").inner_text()
    assert page.locator("#root_contact_phone__error").inner_text() == "形式が正しくありません。"
    assert page.locator("#root_funding_source__error").inner_text() == "入力してください。"
    assert page.locator("#root_contact_address__error").count() == 0  # not the option the user chose
    assert page.get_by_label("研究課題名").get_attribute("aria-invalid") == "true"
    described_by = page.locator("#root_members_0_email").get_attribute("aria-describedby")
    assert "root_members_0_email__error" in described_by
    assert page.evaluate("document.activeElement.id") == "root_project_title"
    assert summary.locator("li").all_inner_texts() == [
        "研究課題名: 入力してください。",
        "研究者番号: 形式が正しくありません。",
        "メールアドレス: メールアドレスの形式で入力してください。",
        "電話番号: 形式が正しくありません。",
        "資金の提供元: 入力してください。",
    ]
    shot(page, "form-client-errors")
    assert not posts(page, "/submit"), "an invalid form must not be sent"

    page.get_by_label("外国からの資金を受け入れている").uncheck()
    page.get_by_label("資金の提供元").wait_for(state="detached")
    page.watch.assert_clean()


def fill_valid(page) -> None:
    page.get_by_label("連絡先メールアドレス").fill("office@example.ac.jp")


def test_server_422_errors_show_next_to_the_nested_field(page):
    open_form(page)
    fill_valid(page)
    page.get_by_role("button", name="行を追加").click()
    row = page.get_by_role("group", name="メンバー 2")
    row.get_by_label("氏名").fill("Lee Min")
    row.get_by_label("メールアドレス").fill("lee@blocked.example")
    page.get_by_role("button", name="提出する").click()

    error = page.locator("#root_members_1_email__error")
    error.wait_for()
    assert error.inner_text() == "このメールアドレスの研究者は確認が必要です。"
    assert page.locator("#root_members_0_email__error").count() == 0
    assert page.evaluate("document.activeElement.id") == "root_members_1_email"
    page.locator("#root_project_title").focus()
    assert row.get_by_label("メールアドレス").input_value() == "lee@blocked.example"  # input kept
    assert row.get_by_label("メールアドレス").get_attribute("aria-invalid") == "true"
    summary = page.locator(".tejun-error-summary")
    assert summary.inner_text().endswith("メールアドレス: このメールアドレスの研究者は確認が必要です。")
    summary.get_by_role("link").click()  # the summary links to the field
    assert page.evaluate("document.activeElement.id") == "root_members_1_email"
    sent = posts(page, "/submit")[-1]
    assert sent["csrf"] == "fixture-csrf-token"
    assert sent["json"]["data"]["members"][1] == {"name": "Lee Min", "email": "lee@blocked.example"}
    shot(page, "form-server-422")
    page.watch.assert_clean()


def test_server_errors_from_the_page_data_block(page):
    open_form(page, "?errors=1")
    assert "差し戻されました" in page.locator("#root_project_title__error").inner_text()
    assert page.evaluate("document.activeElement.id") == "root_project_title"
    page.watch.assert_clean()


def test_save_draft_shows_saved(page):
    open_form(page)
    page.get_by_label("研究課題名").fill("下書きの課題名")
    page.get_by_role("button", name="下書きを保存").click()
    status = page.locator(".tejun-draft-status[data-state=saved]")
    status.wait_for()
    assert re.fullmatch(r"下書きを保存しました（\d\d:\d\d）", status.inner_text())
    sent = posts(page, "/draft")[-1]
    assert sent["csrf"] == "fixture-csrf-token"
    assert sent["json"]["data"]["project_title"] == "下書きの課題名"
    page.watch.assert_clean()


def test_conflict_409_and_server_failure_show_banners_and_keep_input(page):
    open_form(page)
    fill_valid(page)
    page.get_by_label("研究課題名").fill("競合テスト")
    page.get_by_role("button", name="提出する").click()
    banner = page.locator(".tejun-banner[data-kind=conflict]")
    banner.wait_for()
    assert "この作業は田中さんがすでに完了しました。" in banner.inner_text()
    assert banner.get_by_role("link", name="一覧に戻る").get_attribute("href") == "/done.html"
    assert page.get_by_label("研究課題名").input_value() == "競合テスト"
    shot(page, "form-conflict")

    page.get_by_label("研究課題名").fill("障害テスト")
    page.get_by_role("button", name="提出する").click()
    banner = page.locator(".tejun-banner[data-kind=error]")
    banner.wait_for()
    assert "内部エラーが発生しました。 (500)" in banner.inner_text()
    assert page.get_by_label("研究課題名").input_value() == "障害テスト"
    page.watch.assert_clean()


def test_successful_submit_goes_to_next_url(page):
    open_form(page)
    fill_valid(page)
    page.get_by_role("button", name="提出する").click()
    page.wait_for_url("**/done.html")
    sent = posts(page, "/submit")[-1]
    assert sent["csrf"] == "fixture-csrf-token"
    assert sent["json"]["data"]["contact"] == {"method": "email", "address": "office@example.ac.jp"}
    page.watch.assert_clean()


def test_attachment_widget_uploads_refuses_and_removes(page):
    open_form(page)
    field = page.get_by_label("添付資料")
    field.set_input_files({"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ\x90"})
    problem = page.locator(".tejun-attachment-error")
    problem.wait_for()
    assert "このファイル形式はアップロードできません" in problem.inner_text()
    assert posts(page, "/attachments")[-1]["csrf"] == "fixture-csrf-token"

    big = b"%PDF" + b"0" * 2_000_000
    field.set_input_files({"name": "big.pdf", "mimeType": "application/pdf", "buffer": big})
    page.get_by_text("ファイルが大きすぎます（上限 1 MB）").wait_for()  # checked before uploading
    assert len(posts(page, "/attachments")) == 1

    field.set_input_files({"name": "計画書.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 test"})
    page.get_by_role("button", name="計画書.pdf を削除").wait_for()
    assert page.locator(".tejun-attachment-error").count() == 0
    assert posts(page, "/attachments")[-1]["upload"] == "計画書.pdf"
    shot(page, "form-attachment")

    page.get_by_role("button", name="下書きを保存").click()
    page.locator(".tejun-draft-status[data-state=saved]").wait_for()
    attachments = posts(page, "/draft")[-1]["json"]["data"]["attachments"]
    assert len(attachments) == 1 and attachments[0]["name"] == "計画書.pdf"
    assert attachments[0]["id"].startswith("att-")

    page.get_by_role("button", name="計画書.pdf を削除").click()
    page.get_by_text("添付ファイルはありません。").wait_for()
    page.watch.assert_clean()


# --- diagram.js ------------------------------------------------------------------------------------


def test_diagram_renders_with_markers_legend_and_watermark(page):
    page.goto(f"{page.server.url}/diagram.html")
    page.locator("#tejun-diagram[data-state=ready]").wait_for()
    data = json.loads(page.locator("#tejun-diagram-data").inner_text())
    svg = page.locator("#tejun-diagram svg").first
    for element_id in data["completed"]:
        assert svg.locator(f'[data-element-id="{element_id}"].tejun-completed').count() == 1, element_id
    for element_id in data["active"]:
        assert svg.locator(f'[data-element-id="{element_id}"].tejun-active').count() == 1, element_id
    stroke = svg.locator(f'[data-element-id="{data["active"][0]}"] .djs-visual > :first-child').evaluate(
        "e => getComputedStyle(e).strokeDasharray"
    )
    assert stroke not in ("", "none")  # active is dashed, not only coloured
    watermark = page.locator("#tejun-diagram a.bjs-powered-by")
    assert watermark.is_visible()
    assert "bpmn.io" in watermark.get_attribute("href")
    legend = page.locator(".tejun-diagram-legend")
    assert [t.strip() for t in legend.locator("li").all_inner_texts()] == ["完了", "対応中", "未着手"]
    assert page.locator(".bjs-container").count() == 1
    shot(page, "diagram")
    page.get_by_role("button", name="拡大").click()
    page.get_by_role("button", name="全体を表示").click()
    page.watch.assert_clean()


# --- app.js ----------------------------------------------------------------------------------------


def test_app_js_confirm_autosubmit_relative_time_and_language(page):
    page.goto(f"{page.server.url}/app.html")
    page.wait_for_function("document.documentElement.classList.contains('js')")

    assert page.locator("#t-ja").inner_text() == "3 日前"
    assert page.locator("#t-en").inner_text() == "in 2 hours"
    assert page.locator("#t-ja").get_attribute("title")  # the full date as a tooltip
    assert page.get_by_role("button", name="絞り込む").is_hidden()  # data-js-hidden

    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.get_by_role("button", name="取り下げる").click()
    page.wait_for_timeout(200)
    assert messages == ["本当に取り下げますか？"]
    assert page.url.endswith("/app.html")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="取り下げる").click()
    page.wait_for_url("**/echo")
    assert '"action": "withdraw"' in page.locator("#echo").inner_text()

    page.goto(f"{page.server.url}/app.html")
    page.get_by_label("段階").select_option("assessment")
    page.wait_for_url("**/echo?stage=assessment")

    page.goto(f"{page.server.url}/app.html")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert {"name": "lang", "value": "en"}.items() <= next(
        c for c in page.context.cookies() if c["name"] == "lang"
    ).items()
    page.watch.assert_clean()


def test_relative_time_is_recomputed_by_the_helper(page):
    page.goto(f"{page.server.url}/app.html")
    page.wait_for_function("typeof window.tejun?.relativeTime === 'function'")
    now = datetime(2026, 4, 1, 12, 0).isoformat()
    texts = page.evaluate(
        """now => [
          tejun.relativeTime(new Date(Date.parse(now) - 86400e3), 'ja', new Date(now)),
          tejun.relativeTime(new Date(Date.parse(now) + 10e3), 'en', new Date(now)),
          tejun.relativeTime(new Date(Date.parse(now) - 400 * 86400e3), 'en', new Date(now)),
        ]""",
        now,
    )
    assert texts == ["昨日", "now", "last year"]
    page.watch.assert_clean()
