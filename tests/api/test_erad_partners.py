"""The roster import fills partner institutions' teams too: a 共同研究先 / Partner column names the partner (by
name, English name, code or partner id); empty means the lead's team."""

from __future__ import annotations

import io
import json

from service.erad import roster_import
from service.models import Organization, WorkItem
from tests.api.test_erad import ROSTER_SCHEMA, xlsx
from tests.procedure.drive import Driver
from tests.web.helpers import post, sign_in

B = roster_import.PartnerTeam("org:7", "B大学", 7, frozenset({"b大学", "universityb", "p1"}))
HEAD = ["氏名", "役割", "e-Rad研究者番号", "同意", "同意日", "共同研究先"]


def test_a_partner_column_fills_that_partners_team():
    rows = [HEAD, ["山田 太郎", "研究代表者", "11112222", "はい", "2026-04-01", ""],
            ["田中 次郎", "研究分担者", "22223333", "はい", "2026-04-01", "University B"],
            ["高橋 三郎", "participant", "", "はい", "2026-04-01", "P1"],
            ["伊藤 四郎", "participant", "", "はい", "2026-04-01", "C大学"]]
    preview = roster_import.parse("roster.xlsx", xlsx(rows), ROSTER_SCHEMA, [B])
    assert preview.columns[-1] == "consent_date" and not preview.problems and not preview.ignored
    assert [m["name"] for m in preview.valid_members] == ["山田 太郎"]
    assert {k: [m["name"] for m in v] for k, v in preview.partner_members.items()} == {
        "org:7": ["田中 次郎", "高橋 三郎"]}
    assert preview.rows[3].errors == [("partner", "not a partner institution of this case")]
    # only a partner's team in the file: the lead's principal investigator is not asked for
    only = roster_import.parse("t.csv", "氏名,役割,同意,同意日,Partner\r\n田中,co_pi,yes,2026-04-01,B大学\r\n"
                               .encode(), ROSTER_SCHEMA, [B])
    assert not only.problems and list(only.partner_members) == ["org:7"]


def test_fill_replaces_the_named_teams_and_adds_a_partner_of_the_case():
    roster = {"members": [{"name": "old lead"}],
              "partners": [{"organization_id": 7, "name": "B大学", "members": [{"name": "old B"}]},
                           {"organization_id": 8, "name": "C大学", "members": [{"name": "old C"}]}]}
    d = roster_import.PartnerTeam("org:9", "D大学", 9, frozenset({"d大学"}))
    teams = roster_import.partner_teams(roster, [(9, "D大学", "University D", "d")])
    assert {t.key for t in teams} == {"org:7", "org:8", "org:9"}
    filled = roster_import.fill(roster, [], {"org:7": [{"name": "new B"}], "org:9": [{"name": "new D"}]},
                                [*teams, d])
    assert filled["members"] == [{"name": "old lead"}]
    assert [(p["organization_id"], [m["name"] for m in p["members"]]) for p in filled["partners"]] == [
        (7, ["new B"]), (8, ["old C"]), (9, ["new D"])]


def test_the_page_puts_a_partners_team_into_the_draft(app, svc, world):
    d = Driver(svc, world)
    case_id = d.start()  # with partner B as a party of the case
    (item,) = d.items(case_id, "fix_team_roster")
    with svc.db.reader() as session:
        partner_name = session.get(Organization, world.partner_id).name
    rows = [HEAD, ["山田 太郎", "研究代表者", "11112222", "はい", "2026-04-01", ""],
            ["田中 次郎", "研究分担者", "22223333", "はい", "2026-04-01", partner_name]]
    page = sign_in(app, world, "security", lang="en")
    response = post(page, f"/cases/{case_id}/roster-import", {"file": (io.BytesIO(xlsx(rows)), "roster.xlsx")},
                    content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and partner_name in html and 'name="partners"' in html
    key = f"org:{world.partner_id}"
    partners = json.dumps({key: [{"name": "田中 次郎", "role": "co_pi", "erad_researcher_number": "22223333",
                                  "consent_obtained": True, "consent_date": "2026-04-01"}]})
    lead = json.dumps([{"name": "山田 太郎", "role": "pi", "erad_researcher_number": "11112222",
                        "consent_obtained": True, "consent_date": "2026-04-01"}])
    applied = post(page, f"/cases/{case_id}/roster-import/apply", {"members": lead, "partners": partners})
    assert applied.status_code == 302 and applied.location.endswith(f"/tasks/{item.task_id}")
    with svc.db.reader() as session:
        draft = session.get(WorkItem, item.id).draft["roster"]
    assert [m["name"] for m in draft["members"]] == ["山田 太郎"]
    (partner,) = [p for p in draft["partners"] if p.get("organization_id") == world.partner_id]
    assert [m["name"] for m in partner["members"]] == ["田中 次郎"]
    # a partner that is not one of the case's: nothing imported
    other = json.dumps({"org:999999": json.loads(partners)[key]})
    refused = post(page, f"/cases/{case_id}/roster-import/apply", {"members": "[]", "partners": other})
    assert refused.location.endswith(f"/cases/{case_id}/roster-import")
