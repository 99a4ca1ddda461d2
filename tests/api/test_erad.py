"""e-Rad: the project number checked in one place (API and page), the per-call reconciliation file, and
importing a team roster from the office's Excel / CSV file (preview with per-row errors, then the draft)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from service.cases import commands
from service.erad import PROJECT_NUMBER, RESEARCHER_NUMBER, export, roster_import
from service.models import WorkItem
from tests.api.test_api import PROBLEM
from tests.procedure.drive import Driver, roster
from tests.web.helpers import bearer, post, sign_in

ROSTER_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "forms" / "team_roster.schema.json").read_text())
auth = bearer  # one token per person (tests/web/helpers.py)


def test_one_definition_of_the_numbers():
    for good in ("JP26-0042", "23K01234", "JPMJCR2301", "A" * 32):
        assert PROJECT_NUMBER.fullmatch(good), good
    for bad in ("", "-JP26", "JP 26/42", "A" * 33, "課題1", "JP26_0042"):
        assert not PROJECT_NUMBER.fullmatch(bad), bad
    assert RESEARCHER_NUMBER.fullmatch("01234567") and not RESEARCHER_NUMBER.fullmatch("1234567")
    member = ROSTER_SCHEMA["properties"]["roster"]["properties"]["members"]["items"]["properties"]
    assert member["erad_researcher_number"]["pattern"] == RESEARCHER_NUMBER.pattern


def test_the_api_and_the_page_check_the_project_number_alike(app, client, world):
    headers = auth(client, world, "security")
    body = {"call_id": world.call_id, "lead_institution_id": world.lead_id, "title": "e-Rad"}
    refused = client.post("/api/v1/cases", json={**body, "erad_project_number": "-JP26"}, headers=headers)
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    (error,) = refused.get_json()["errors"]
    assert error["pointer"] == "/erad_project_number" and "32 letters" in error["message"]
    started = client.post("/api/v1/cases", json={**body, "erad_project_number": "JP26-0042"}, headers=headers)
    assert started.status_code == 201
    case = client.get(f"/api/v1/cases/{started.get_json()['case_id']}", headers=headers).get_json()
    assert case["erad_project_number"] == "JP26-0042"

    page = sign_in(app, world, "security", lang="en")
    form = {"call_id": str(world.call_id), "title": "e-Rad", "erad_project_number": "-JP26"}
    response = post(page, "/cases/new", form)
    assert response.status_code == 422
    assert "Up to 32 letters, digits and hyphens." in response.get_data(as_text=True)


def numbered_roster(world) -> dict:
    data = roster(world)
    members = data["roster"]["members"]
    members[0]["erad_researcher_number"] = "11112222"
    members[1]["erad_researcher_number"] = "33334444"
    data["roster"]["partners"][0]["members"][0]["erad_researcher_number"] = "55556666"
    return data


@pytest.fixture
def accepted(svc, world):
    d = Driver(svc, world)
    case_id = commands.start_case(svc, d.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="=量子センサの研究", partner_ids=(world.partner_id,),
                                  erad_project_number="JP26-0042").case_id
    d.do(case_id, "fix_team_roster", "security", numbered_roster(world))
    d.identification(case_id)
    from tests.procedure.drive import ASSESSMENT_AS_PROPOSED, approve

    d.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    d.do(case_id, "institutional_approval", "admin", approve())
    d.accept(case_id)
    second = d.start(title="二件目")  # still at the roster: no team yet
    return d, case_id, second


def test_the_calls_erad_file(client, world, accepted):
    d, case_id, second = accepted
    response = client.get(f"/api/v1/calls/{world.call_id}/erad.csv", headers=auth(client, world, "fa_officer"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="erad-{world.tag}-call.csv"'
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [ja for _k, ja, _en in export.COLUMNS]
    assert rows[0] == ["公募コード", "案件番号", "e-Rad課題番号", "研究課題名", "研究代表機関", "研究代表者氏名",
                       "研究代表者e-Rad研究者番号", "研究者番号（チーム）", "状況", "リスクレベル", "決定日"]
    by_reference = {row[1]: row for row in rows[1:]}
    first = by_reference[d.case(case_id).reference]
    case = d.case(case_id)
    decision = d.value(case_id, "fa_decision")
    assert first == [f"{world.tag}-call", case.reference, "JP26-0042", "'=量子センサの研究", f"{world.tag} 大学A",
                     "山田 太郎", "11112222", "33334444;55556666", f"completed:{case.outcome}" if case.status ==
                     "completed" else f"{case.status}:{case.stage}", case.risk_level or "", decision["decided_on"]]
    assert decision["outcome"] == "accepted"
    # the case still at its roster is not submitted: not in the FA's file (docs/security.md), in the auditor's
    assert d.case(second).reference not in by_reference
    english = client.get(f"/api/v1/calls/{world.call_id}/erad.csv?lang=en", headers=auth(client, world, "auditor"))
    assert english.data.decode("utf-8-sig").split("\r\n")[0] == ",".join(en for _k, _ja, en in export.COLUMNS)
    audited = {row[1]: row for row in csv.reader(io.StringIO(english.data.decode("utf-8-sig")))}
    other = audited[d.case(second).reference]
    assert other[2] == "" and other[5:8] == ["", "", ""] and other[10] == ""
    for who in ("security", "partner_security", "researcher", "designer", "sysadmin"):
        refused = client.get(f"/api/v1/calls/{world.call_id}/erad.csv", headers=auth(client, world, who))
        assert refused.status_code == 403 and refused.mimetype == PROBLEM, who
    assert client.get("/api/v1/calls/999999999/erad.csv", headers=auth(client, world, "fa_officer")).status_code == 404


def test_the_fa_page_links_each_calls_file(app, world):
    page = sign_in(app, world, "fa_officer", lang="en")
    html = page.get("/erad").get_data(as_text=True)
    assert f"/api/v1/calls/{world.call_id}/erad.csv" in html and f"{world.tag}-call" in html
    assert 'href="/erad"' in page.get("/").get_data(as_text=True)  # in the navigation
    assert sign_in(app, world, "security").get("/erad").status_code == 404


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


OFFICE_ROWS = [
    ["氏名", "役割", "e-Rad研究者番号", "メールアドレス", "同意", "同意日", "備考"],
    ["山田 太郎", "研究代表者", "11112222", "yamada@example.jp", "はい", "2026/4/1", "PI"],
    ["佐藤 花子", "participant", 1234567, "", "yes", "2026-04-02", ""],  # a number Excel stripped of its 0
    ["鈴木 一郎", "学生", "1234", "", "はい", "2026-04-02", ""],  # not 8 digits
    ["", "participant", "", "", "はい", "2026-04-02", "名前なし"],  # no name
    ["高橋 三郎", "教授", "", "x", "いいえ", "April", ""],  # role, e-mail, consent, date
]


def test_reading_an_office_roster_reports_each_rows_problems():
    preview = roster_import.parse("roster.xlsx", xlsx(OFFICE_ROWS), ROSTER_SCHEMA)
    assert preview.ignored == ["備考"] and not preview.problems
    assert [row.number for row in preview.rows] == [2, 3, 4, 5, 6]
    first, second, third, fourth, fifth = preview.rows
    assert first.ok and first.member == {"name": "山田 太郎", "role": "pi", "erad_researcher_number": "11112222",
                                         "email": "yamada@example.jp", "consent_obtained": True,
                                         "consent_date": "2026-04-01"}
    assert second.ok and second.member["erad_researcher_number"] == "01234567"
    assert third.errors == [("erad_researcher_number", "An e-Rad researcher number is 8 digits.")]
    assert ("name", "this column is required") in fourth.errors
    assert {name for name, _m in fifth.errors} == {"role", "email", "consent_obtained", "consent_date"}
    assert [m["name"] for m in preview.valid_members] == ["山田 太郎", "佐藤 花子"]

    csv_text = "Name,Role,e-Rad researcher number,Consent to due diligence,Consent date\r\n" \
               "Taro Yamada,Principal investigator,11112222,yes,2026-04-01\r\n"
    for encoding in ("utf-8-sig", "cp932"):
        assert roster_import.parse("team.csv", csv_text.encode(encoding), ROSTER_SCHEMA).rows[0].ok
    no_pi = roster_import.parse("team.csv", "氏名,役割\r\n佐藤,participant\r\n".encode(), ROSTER_SCHEMA)
    assert no_pi.problems and "principal investigator" in no_pi.problems[0]


def test_the_roster_import_page_previews_then_fills_the_draft(app, svc, world):
    d = Driver(svc, world)
    case_id = d.start()
    (item,) = d.items(case_id, "fix_team_roster")
    page = sign_in(app, world, "security", lang="en")
    assert f"/cases/{case_id}/roster-import" in page.get(f"/cases/{case_id}").get_data(as_text=True)
    assert page.get(f"/cases/{case_id}/roster-import").status_code == 200
    response = post(page, f"/cases/{case_id}/roster-import",
                    {"file": (io.BytesIO(xlsx(OFFICE_ROWS)), "roster.xlsx")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "An e-Rad researcher number is 8 digits." in html and "this column is required" in html
    with svc.db.reader() as session:
        assert session.get(WorkItem, item.id).draft is None  # nothing stored by the preview
    members = json.dumps([r.member for r in roster_import.parse("roster.xlsx", xlsx(OFFICE_ROWS),
                                                                ROSTER_SCHEMA).rows if r.ok])
    applied = post(page, f"/cases/{case_id}/roster-import/apply", {"members": members})
    assert applied.status_code == 302 and applied.location.endswith(f"/tasks/{item.task_id}")
    with svc.db.reader() as session:
        draft = session.get(WorkItem, item.id).draft
    assert [m["name"] for m in draft["roster"]["members"]] == ["山田 太郎", "佐藤 花子"]
    # a tampered list is refused and stores nothing new
    bad = post(page, f"/cases/{case_id}/roster-import/apply", {"members": json.dumps([{"name": "x",
                                                                                        "role": "boss"}])})
    assert bad.status_code == 302 and bad.location.endswith(f"/cases/{case_id}/roster-import")
    with svc.db.reader() as session:
        assert len(session.get(WorkItem, item.id).draft["roster"]["members"]) == 2
    wrong = post(page, f"/cases/{case_id}/roster-import", {"file": (io.BytesIO(b"%PDF-1.4"), "roster.pdf")},
                 content_type="multipart/form-data")
    assert wrong.status_code == 422
    # who sees the case but may not work the roster: 403; outside the case: 404
    assert sign_in(app, world, "fa_officer").get(f"/cases/{case_id}/roster-import").status_code == 403
    assert sign_in(app, world, "ministry").get(f"/cases/{case_id}/roster-import").status_code == 404
