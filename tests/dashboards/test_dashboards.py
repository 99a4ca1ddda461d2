"""Dashboards and exports (issue 19): the numbers for a small known world (tests/dashboards/world.py), that
nobody ever sees a number counting a case outside their scope, and the exports' headers, rows and scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from service import clock
from service.auth.actor import Actor, Grant
from service.auth.permissions import View, case_scope
from service.dashboards import TABLES, Filters
from service.models import Case, Event
from tests.dashboards.world import Known, build
from tests.web.helpers import sign_in

NOW = datetime(2026, 5, 31, 0, 0, tzinfo=UTC)  # after the overdue tasks' due dates


@pytest.fixture(scope="module")
def known(app) -> Known:
    return build(app.extensions["tejun"])


@pytest.fixture
def at_now():
    clock.set_source(clock.TravellingClock(NOW))
    yield NOW


def tables(svc, actor, filters: Filters | None = None) -> dict[str, list[tuple]]:
    with svc.db.reader() as session:
        return {name: fn(session, actor, filters or Filters()).rows for name, fn in TABLES.items()}


def mine(rows, known: Known, col: int = 0):
    """Rows about the known world's organizations (names start with its tag) — other tests share the db."""
    return [r for r in rows if str(r[col][0]).startswith(known.w.tag)]


# -- the numbers ------------------------------------------------------------------------------------------
def test_the_fa_officer_sees_its_programme_in_numbers(svc, known, at_now):
    t = tables(svc, known.w.actor("fa_officer"))
    (programme,) = t["programmes"]
    assert programme[2:] == (5, 4, 2, 1)  # cases, running, accepted, not accepted
    assert sorted(t["stages"], key=repr) == sorted([
        ("running", "follow_up", "accepted", 2), ("completed", "fa_review", "not_accepted", 1),
        ("running", "fa_review", None, 1), ("running", "roster", None, 1)], key=repr)
    # the case still at its roster is not submitted yet: no risk level for the FA (docs/security.md)
    assert dict(t["risk_levels"]) == {"L0": 3, "L3": 1}
    assert t["review_rounds"] == [(1, 2), (2, 1)]
    assert t["decision_time"] == [("accepted", 2, 3.0, 3.0, 3.0, 9.0, 9.0),
                                  ("not_accepted", 1, 5.0, 5.0, 5.0, 5.0, 5.0)]
    assert t["measures"] == [("M5", 0, 0, 1, 1), ("M7", 1, 1, 1, 1)]
    assert sorted(t["screening_hits"]) == [("exact", "confirmed_match", 1, 1), ("probable", "pending", 1, 1)]
    overdue = {names[1].split(" ", 1)[1]: n for names, n, _oldest in t["overdue"]}
    assert overdue == {"Agency": 1}  # the review task due 18 May; not the unsubmitted case's roster task
    assert t["follow_ups"] == []


def test_the_institution_office_sees_its_cases_under_every_agency(svc, known, at_now):
    t = tables(svc, known.w.actor("security"))
    # FA1's five cases and FA2's case led by institution A
    assert sum(r[2] for r in t["programmes"]) == 6
    assert dict(t["risk_levels"]) == {"L0": 3, "L3": 1, None: 2}
    filtered = tables(svc, known.w.actor("security"), Filters(program_id=known.w2.program_id))
    assert [r[2] for r in filtered["programmes"]] == [1] and filtered["review_rounds"] == []


def test_a_partner_sees_stages_but_no_risk_level_review_or_measure(svc, known, at_now):
    t = tables(svc, known.w.actor("partner_security"))
    assert sum(r[3] for r in t["stages"]) == 3  # the cases with partner B
    for name in ("risk_levels", "review_rounds", "decision_time", "measures", "screening_hits", "follow_ups"):
        assert t[name] == [], name


def test_auditors_in_scope(svc, known, at_now):
    fa_only = tables(svc, known.w.actor("fa_auditor"))
    assert sum(r[1] for r in fa_only["risk_levels"]) == 5
    everyone = tables(svc, known.w.actor("auditor"))
    assert sum(r[1] for r in everyone["risk_levels"]) >= 7
    assert ("possible", "pending", 1, 1) in everyone["screening_hits"]


def test_follow_ups_due_in_the_next_90_days(svc, known):
    # both accepted cases' first periodic follow-up is a year after acceptance (April 2027)
    clock.set_source(clock.TravellingClock(datetime(2027, 2, 1, tzinfo=UTC)))
    t = tables(svc, known.w.actor("fa_manager"))
    assert t["follow_ups"] == [("2027-04", 2, 0)]
    assert tables(svc, known.w.actor("partner_security"))["follow_ups"] == []


def test_filters_narrow_every_table(svc, known, at_now):
    nothing = Filters(date_from=datetime(2030, 1, 1).date())
    assert all(rows == [] for rows in tables(svc, known.w.actor("fa_officer"), nothing).values())
    assert tables(svc, known.w.actor("fa_officer"), Filters(institution_id=known.w2.lead_id))["stages"] == []


# -- scope: generated people never count a case outside it ----------------------------------------------
ORGS = ("fa", "fa2", "lead", "partner", "other", "ministry")
ROLES = {"fa": ("fa_officer", "fa_manager", "auditor"), "fa2": ("fa_officer", "auditor"),
         "lead": ("security_officer", "institution_admin", "researcher"),
         "partner": ("security_officer", "institution_admin", "researcher"),
         "other": ("security_officer", "researcher"), "ministry": ("ministry_officer",)}
KINDS = {"fa": "funding_agency", "fa2": "funding_agency", "ministry": "ministry"}
grants = st.sampled_from(ORGS).flatmap(lambda org: st.tuples(st.just(org), st.sampled_from(ROLES[org]),
                                                             st.sampled_from(["fa", "all"])))


def _actor(known: Known, spec) -> Actor:
    ids = {"fa": known.w.fa_id, "fa2": known.w2.fa_id, "lead": known.w.lead_id, "partner": known.w.partner_id,
           "other": known.w2.lead_id, "ministry": known.w.ministry_id}
    return Actor(known.w.users["researcher"], "generated", tuple(
        Grant(ids[org], KINDS.get(org, "institution"), role, scope if role == "auditor" else "organization")
        for org, role, scope in spec))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.lists(grants, min_size=1, max_size=3))
def test_generated_people_count_only_cases_in_their_scope(svc, known, at_now, spec):
    """Oracle: `case_scope` on every case in the database (the one rule the case page applies)."""
    actor = _actor(known, spec)
    with svc.db.reader() as session:
        cases = session.scalars(select(Case)).all()
        views = {c.id: case_scope(actor, c).view for c in cases}
        rounds = {}
        for (case_id,) in session.execute(select(Event.case_id).where(
                Event.action == "task_completed", Event.element_id == "review_submission")):
            rounds[case_id] = rounds.get(case_id, 0) + 1
        seen = [c for c in cases if views[c.id] >= View.SUMMARY]
        full = [c for c in cases if views[c.id] >= View.FULL]
        risk = {}
        for c in full:
            risk[c.risk_level] = risk.get(c.risk_level, 0) + 1
        hits_cases = {c.id for c in full} & {known.cases[k] for k in ("accepted", "in_review", "other")}
        t = {name: fn(session, actor, Filters()).rows for name, fn in TABLES.items()}
    assert sum(r[3] for r in t["stages"]) == len(seen)
    assert sum(r[2] for r in t["programmes"]) == len(seen)
    assert dict(t["risk_levels"]) == risk
    expected_rounds: dict[int, int] = {}
    for c in full:
        if rounds.get(c.id):
            expected_rounds[rounds[c.id]] = expected_rounds.get(rounds[c.id], 0) + 1
    assert dict(t["review_rounds"]) == expected_rounds
    assert sum(r[1] for r in t["decision_time"]) <= len(full)
    assert sum(r[3] for r in t["screening_hits"]) <= len(hits_cases) or any(
        role == "auditor" and scope == "all" for _org, role, scope in spec)
    if not full:
        for name in ("risk_levels", "review_rounds", "decision_time", "measures", "screening_hits", "follow_ups"):
            assert t[name] == [], name


@pytest.mark.parametrize("who", ["fa_officer", "partner_security", "researcher", "ministry"])
def test_another_agencys_staff_and_outsiders_never_count_its_cases(svc, known, at_now, who):
    """FA2's people (and everyone of FA1's world) against FA2's cases and FA1's."""
    outsider = known.w2.actor(who)  # FA2's world: sees only FA2's case(s)
    t = tables(svc, outsider, Filters(program_id=known.w.program_id))
    assert all(rows == [] for rows in t.values()), t


# -- exports ----------------------------------------------------------------------------------------------
def _csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_case_list_export_headers_rows_and_risk_only_where_full(app, known, at_now):
    fa = sign_in(app, known.w, "fa_officer")
    response = fa.get(f"/cases/export.csv?program={known.w.program_id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["案件", "課題名", "プログラムコード", "プログラム", "公募コード", "機関", "段階", "状態", "結果",
                       "リスクレベル", "開始日時", "最終更新"]
    assert len(rows) == 6 and {r[9] for r in rows[1:]} == {"L0", "L3", ""}
    partner = _csv(sign_in(app, known.w, "partner_security").get("/cases/export.csv?lang=en"))
    assert partner[0][0] == "Case" and partner[0][9] == "Risk level"
    assert len(partner) == 4 and {r[9] for r in partner[1:]} == {""}
    # an FA of another agency: none of FA1's cases
    other = _csv(sign_in(app, known.w2, "fa_officer").get("/cases/export.csv"))
    assert [r[1] for r in other[1:]] == ["別の機構・大学Aの研究", "別の機構の研究"]


def test_queue_export_lists_the_tab(app, known, at_now):
    rows = _csv(sign_in(app, known.w, "security").get("/queue/export.csv?tab=overdue"))
    assert rows[0] == ["タスク", "案件", "案件名", "段階", "組織", "役割", "担当者", "優先度", "期限", "作成日時"]
    assert any(r[2] == "開始したばかりの研究" for r in rows[1:])
    assert all(r[2] != "別の機構の研究" for r in rows[1:])


def test_dashboard_table_exports_in_both_formats(app, known, at_now):
    fa = sign_in(app, known.w, "fa_officer")
    rows = _csv(fa.get(f"/dashboard/export.csv?table=risk_levels&program={known.w.program_id}"))
    assert rows[0] == ["リスクレベル", "案件"]
    assert len(rows) == 3 and sorted(r[1] for r in rows[1:]) == ["1", "3"]  # not the unsubmitted case
    assert rows[1][0].startswith("L0 ") and rows[2][0].startswith("L3 ")
    response = fa.get(f"/dashboard/export.xlsx?table=measures&lang=en&program={known.w.program_id}")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Measure", "Times requested by the FA", "Cases with a request", "Agreed measures",
                         "Cases agreeing it"]
    assert [v[1:] for v in values[1:]] == [[0, 0, 1, 1], [1, 1, 1, 1]]
    assert fa.get("/dashboard/export.csv?table=no_such").status_code == 404


def test_agreed_measures_export_and_its_scope(app, known, at_now):
    fa = sign_in(app, known.w, "fa_officer")
    rows = _csv(fa.get(f"/dashboard/measures.csv?program={known.w.program_id}"))
    assert rows[0] == ["案件", "課題名", "プログラム", "機関", "措置コード", "措置", "対象", "実施責任者",
                       "実施期限", "状態", "報告日"]
    assert sorted((r[1], r[4], r[6]) for r in rows[1:]) == [("受理された研究", "M7", "project"),
                                                            ("措置つきの研究", "M5", "M2")]
    assert len(_csv(sign_in(app, known.w, "partner_security").get("/dashboard/measures.csv"))) == 1
    assert len(_csv(sign_in(app, known.w2, "fa_officer").get("/dashboard/measures.csv"))) == 1


def test_the_dashboard_page_in_both_languages(app, known, at_now):
    page = sign_in(app, known.w, "fa_officer").get("/dashboard").get_data(as_text=True)
    assert "段階・結果別の案件" in page and "vendor/dashboard.js" in page and 'data-role="value"' in page
    english = sign_in(app, known.w, "fa_officer", lang="en").get("/dashboard").get_data(as_text=True)
    assert "Cases by stage and outcome" in english and "段階・結果別の案件" not in english
    # researchers get the page (their own cases) but no link in the navigation
    researcher = sign_in(app, known.w, "researcher").get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard"' not in researcher
