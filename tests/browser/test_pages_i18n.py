"""Every page in a real browser, in Japanese and in English: rendered with its scripts under the CSP (no
violations, no script errors), in the right language, and photographed (test-artifacts/screenshots/pages-*)."""

from __future__ import annotations

import pytest

from service.auth.preferences import set_locale
from tests.browser.live import TABLET, shot
from tests.conftest import PASSWORD
from tests.web.helpers import Case

pytestmark = pytest.mark.browser

TEXTS = {  # one text per page that only the right language shows
    "ja": {"queue": "自分のタスク", "cases": "案件", "case": "概要", "task": "提出する", "notifications": "お知らせ",
           "missing": "見つかりません", "login": "ログイン"},
    "en": {"queue": "My tasks", "cases": "Cases", "case": "Summary", "task": "Submit", "notifications": "Notifications",
           "missing": "Not found", "login": "Sign in"},
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_page_in_both_languages(svc, world, open_as, chromium_browser, live, lang):
    set_locale(svc, world.actor("security"), lang)
    case = Case(svc, world, title="表示確認 / display check")
    item = case.to_assessment()
    words = TEXTS[lang]

    anonymous = chromium_browser.new_context(locale="ja-JP")
    if lang == "en":
        anonymous.add_cookies([{"name": "lang", "value": "en", "url": live.url}])
    login = anonymous.new_page()
    login.goto(f"{live.url}/login")
    assert login.locator("html").get_attribute("lang") == lang
    assert login.get_by_role("heading", name=words["login"]).is_visible()
    shot(login, f"pages-login-{lang}")
    anonymous.close()

    page = open_as(world.username("security"), PASSWORD, lang=lang)
    visits = [
        ("queue", "/?tab=team", None),
        ("cases", "/cases", None),
        ("case", f"/cases/{case.id}", "#tejun-diagram[data-state=ready]"),
        ("task", f"/tasks/{item.task_id}", "form.tejun-rjsf"),
        ("notifications", "/notifications?show=all", None),
    ]
    for name, path, ready in visits:
        page.goto(f"{live.url}{path}")
        if ready:
            page.locator(ready).wait_for()
        assert page.locator("html").get_attribute("lang") == lang, path
        assert words[name] in page.locator("main").inner_text() + page.title(), (name, lang)
        shot(page, f"pages-{name}-{lang}")
    page.set_viewport_size(TABLET)
    page.goto(f"{live.url}/?tab=team")
    shot(page, f"pages-queue-tablet-{lang}")
    page.watch.assert_clean()

    # the error page (chrome logs the 404 of the page itself; nothing else may go wrong)
    page.goto(f"{live.url}/cases/999999999")
    assert page.locator("html").get_attribute("lang") == lang
    assert words["missing"] in page.locator("main").inner_text()
    shot(page, f"pages-missing-{lang}")
    page.watch.console = [(kind, t) for kind, t in page.watch.console if "status of 404" not in t]
    page.watch.assert_clean()
