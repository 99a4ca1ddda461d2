"""The dashboards in Debian's chromium, one per kind of viewer (FA staff, an institution's office, an auditor),
in Japanese and in English: charts drawn by the bundled Chart.js under the CSP, each next to its table, and
photographed to test-artifacts/screenshots/dashboard-<who>-<lang>.png."""

from __future__ import annotations

import pytest

from tests.browser.live import shot
from tests.conftest import PASSWORD
from tests.dashboards.world import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOT_NAMES = {"fa_manager": "fa", "security": "institution", "auditor": "auditor"}
HEADINGS = {"ja": ("ダッシュボード", "段階・結果別の案件", "リスクレベル"),
            "en": ("Dashboard", "Cases by stage and outcome", "Risk levels")}


@pytest.fixture(scope="module")
def known(app):
    return build(app.extensions["tejun"])


@pytest.mark.parametrize("who", ["fa_manager", "security", "auditor"])
def test_each_dashboard_draws_its_charts_in_both_languages(known, open_as, who):
    for lang in ("ja", "en"):
        page = open_as(known.w.username(who), PASSWORD, lang=lang)
        page.get_by_role("link", name=HEADINGS[lang][0], exact=True).click()
        page.wait_for_url(f"{page.live.url}/dashboard")
        title, stages, risks = HEADINGS[lang]
        page.get_by_role("heading", name=title, exact=True).wait_for()
        page.get_by_role("heading", name=stages).wait_for()
        # the chart of a non-empty table is drawn (Chart.js sizes its canvas), its table stays readable
        chart = page.locator("#stages canvas")
        page.wait_for_function("c => c.width > 0 && c.style.width !== ''", arg=chart.element_handle())
        assert page.locator("#stages table tbody tr").count() >= 1
        assert page.locator("#risk_levels h2").inner_text() == risks
        # the filters are in the URL: narrow to the programme and the numbers follow
        page.locator("#program").select_option(index=1)
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url("**/dashboard?program=*")
        page.locator("#stages canvas").wait_for()
        shot(page, f"dashboard-{SHOT_NAMES[who]}-{lang}")
        page.watch.assert_clean()
