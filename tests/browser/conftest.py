"""Fixtures for the page journeys: the live app, chromium, and a signed-in page per person."""

from __future__ import annotations

import pytest

from tests.browser.live import CHROMIUM_ARGS, LAPTOP, LiveServer, Watch, need_chromium


@pytest.fixture(scope="module")
def live(app):
    need_chromium()
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def chromium_browser(live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(need_chromium()), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_as(chromium_browser, live):
    """open_as(username, password, lang="ja", viewport=LAPTOP) -> a signed-in page (closed at the end)."""
    contexts = []

    def opener(username: str, password: str, lang: str = "ja", viewport=LAPTOP):
        context = chromium_browser.new_context(viewport=viewport, locale="ja-JP" if lang == "ja" else "en-US",
                                               timezone_id="Asia/Tokyo", accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        if lang != "ja":
            context.add_cookies([{"name": "lang", "value": lang, "url": live.url}])
        page = context.new_page()
        page.watch = Watch(page)
        page.live = live
        page.goto(f"{live.url}/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url(f"{live.url}/")
        return page

    yield opener
    for context in contexts:
        context.close()
