"""Finding one's way (issue 16, point 5): menus lead to the disclosure profile and the screening pages, lists are
imported from a page, FA staff start a programme designation from a page, the queue opens on the tab that has
work, case lists filter and sort (the page and the API alike), and notifications of a task that is done say so."""

from __future__ import annotations

import io
import re

from sqlalchemy import select, update

from service.cases import commands
from service.models import Case as CaseRow
from service.models import Notification, ScreeningSnapshot, WorkItem
from service.notifications import notify
from service.unit_of_work import unit_of_work
from tests.conftest import make_world
from tests.web.helpers import MANAGED_DATA, Case, bearer, disclosure, post, roster, sign_in


def _html(response) -> str:
    return response.get_data(as_text=True)


# -- menus ----------------------------------------------------------------------------------------------------


def test_menus_lead_to_the_disclosure_profile_and_the_screening_pages(app, world):
    researcher = _html(sign_in(app, world, "researcher").get("/cases"))
    assert 'href="/disclosure"' in researcher
    assert 'href="/screening"' not in researcher  # a researcher sees no case in full
    for who in ("security", "fa_officer", "admin", "auditor"):
        page = _html(sign_in(app, world, who).get("/cases"))
        assert 'href="/screening"' in page, who


def test_the_case_page_links_its_screening_for_full_views_only(app, svc, world):
    case = Case(svc, world)
    case.to_disclosure()
    assert f'href="/screening/cases/{case.id}"' in _html(sign_in(app, world, "security").get(f"/cases/{case.id}"))
    summary = _html(sign_in(app, world, "researcher").get(f"/cases/{case.id}"))
    assert f"/screening/cases/{case.id}" not in summary


# -- screening: lists imported from a page, and the cases with open hits ---------------------------------------


def _list_file(name: str) -> tuple[io.BytesIO, str]:
    body = f"id,name,country,reason\nX-1,{name},JP,テスト\nX-2,無関係 次郎,JP,テスト\n".encode()
    return io.BytesIO(body), "ours.csv"


def test_an_institution_imports_its_own_list_with_a_preview_and_open_hits_are_listed(app, svc, world):
    case = Case(svc, world)
    case.to_disclosure()
    client = sign_in(app, world, "security")
    page = _html(client.get("/screening/lists"))
    key = f"institution_list:{world.lead_id}"
    assert f'value="{key}"' in page
    assert 'value="us_csl"' not in page  # published lists: system administrators only

    preview = post(client, "/screening/lists", {"list": key, "file": _list_file("山田 太郎")},
                   content_type="multipart/form-data")
    assert preview.status_code == 200, _html(preview)
    text = _html(preview)
    assert 'data-count="entries">2<' in text and 'data-count="skipped">0<' in text
    with svc.db.reader() as session:  # nothing stored by the preview
        assert not session.scalars(select(ScreeningSnapshot).where(
            ScreeningSnapshot.organization_id == world.lead_id)).first()
    token = re.search(r'name="token" value="([0-9a-f]{64})"', text).group(1)
    name = re.search(r'name="name" value="([^"]+)"', text).group(1)

    done = post(client, "/screening/lists/import", {"list": key, "token": token, "name": name, "list_date": ""})
    assert done.status_code == 302
    with svc.db.reader() as session:
        snapshot = session.scalars(select(ScreeningSnapshot).where(
            ScreeningSnapshot.organization_id == world.lead_id)).one()
        assert snapshot.row_count == 2
    # the same upload cannot be imported twice from the page (the file is gone after the import)
    again = post(client, "/screening/lists/import", {"list": key, "token": token, "name": name})
    assert again.status_code == 422

    case.do("fill_disclosure", "researcher", disclosure())
    case.do("record_managed_data", "security", MANAGED_DATA)  # the team (山田 太郎) is screened against the list
    listing = _html(client.get("/screening"))
    assert f'href="/screening/cases/{case.id}"' in listing
    # a partner's officer does not see the lead's case in full: not listed for them
    assert f"/screening/cases/{case.id}" not in _html(sign_in(app, world, "partner_security").get("/screening"))


def test_list_imports_are_for_institution_offices_and_system_administrators_only(app, world):
    assert sign_in(app, world, "researcher").get("/screening/lists").status_code == 404
    assert sign_in(app, world, "fa_officer").get("/screening/lists").status_code == 404
    admin = _html(sign_in(app, world, "sysadmin").get("/screening/lists"))
    assert 'value="us_csl"' in admin and 'value="meti_end_user_list"' in admin
    assert "institution_list:" not in admin
    # an officer cannot name another institution's list
    client = sign_in(app, world, "partner_security")
    refused = post(client, "/screening/lists", {"list": f"institution_list:{world.lead_id}",
                                                "file": _list_file("山田 太郎")}, content_type="multipart/form-data")
    assert refused.status_code == 422


# -- designation ----------------------------------------------------------------------------------------------


def test_fa_staff_start_a_programme_designation_from_a_page(app, svc, world):
    client = sign_in(app, world, "fa_officer")
    assert 'href="/designations/new"' in _html(client.get("/cases"))
    assert client.get("/designations/new").status_code == 200
    empty = post(client, "/designations/new", {"funding_agency_id": world.fa_id, "title": " "})
    assert empty.status_code == 422 and 'aria-invalid="true"' in _html(empty)
    started = post(client, "/designations/new", {"funding_agency_id": world.fa_id, "title": "ページからの指定"})
    assert started.status_code == 302
    assert started.headers["Location"].startswith("/tasks/")
    with svc.db.reader() as session:
        row = session.scalars(select(CaseRow).where(CaseRow.title == "ページからの指定")).one()
        assert row.kind == "designation" and row.funding_agency_id == world.fa_id
    assert sign_in(app, world, "security").get("/designations/new").status_code == 404


# -- the queue ------------------------------------------------------------------------------------------------


def test_the_queue_opens_on_the_tab_that_has_work(app, svc, world):
    Case(svc, world)  # its first task waits for the lead's security officers: the team's, unassigned
    page = _html(sign_in(app, world, "security2").get("/"))
    assert re.search(r'href="/\?tab=team[^"]*"\s+aria-current="page"', page), page[:3000]
    # chosen explicitly, a tab stays chosen
    mine = _html(sign_in(app, world, "security2").get("/?tab=mine"))
    assert re.search(r'href="/\?tab=mine[^"]*"\s+aria-current="page"', mine)


def _program_choices(html: str) -> set[int]:
    select_tag = re.search(r'<select id="program".*?</select>', html, re.S).group(0)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select_tag)}


def test_the_queues_programme_filter_offers_the_programmes_of_what_the_person_sees(app, svc, world):
    other = make_world(svc)
    Case(svc, world)
    theirs = Case(svc, other)  # another institution's case, under another programme
    client = sign_in(app, world, "security")
    assert _program_choices(_html(client.get("/?tab=org"))) == {world.program_id}
    # one of their tasks handed to this person: it is in "mine", so its programme is offered too
    with unit_of_work(svc) as session:
        session.execute(update(WorkItem).where(WorkItem.case_id == theirs.id)
                        .values(assignee_id=world.users["security"]))
    assert _program_choices(_html(client.get("/?tab=mine"))) == {world.program_id, other.program_id}


# -- the case list --------------------------------------------------------------------------------------------


def _set(svc, case_id: int, **values) -> None:
    with unit_of_work(svc) as session:
        session.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))


def _references(html: str) -> list[str]:
    return re.findall(r'<a href="/cases/\d+">([^<]+)</a>', html)


def test_case_lists_filter_by_stage_risk_institution_programme_and_sort(app, svc, world):
    first, second = Case(svc, world, title="一件目"), Case(svc, world, title="二件目")
    _set(svc, first.id, stage="assessment", risk_level="L2")
    _set(svc, second.id, stage="roster", risk_level="L1")
    client = sign_in(app, world, "security")
    with svc.db.reader() as session:
        refs = {c.id: c.reference for c in session.scalars(select(CaseRow).where(
            CaseRow.id.in_([first.id, second.id])))}

    shown = _references(_html(client.get("/cases?stage=assessment")))
    assert refs[first.id] in shown and refs[second.id] not in shown
    shown = _references(_html(client.get("/cases?risk=L1")))
    assert refs[second.id] in shown and refs[first.id] not in shown
    shown = _references(_html(client.get(f"/cases?institution={world.lead_id}&sort=-created")))
    assert shown.index(refs[first.id]) < shown.index(refs[second.id])
    shown = _references(_html(client.get(f"/cases?institution={world.lead_id}&sort=created")))
    assert shown.index(refs[second.id]) < shown.index(refs[first.id])
    with svc.db.reader() as session:
        program_id = session.get(CaseRow, first.id).program_id
    assert refs[first.id] in _references(_html(client.get(f"/cases?program={program_id}")))
    assert refs[first.id] not in _references(_html(client.get(f"/cases?program={program_id + 100000}")))
    # unknown values are ignored, never an error
    assert client.get("/cases?stage=nope&risk=L9&sort=x&institution=abc").status_code == 200

    # the API takes the same filters
    api = app.test_client()
    headers = bearer(api, world, "security")
    got = api.get("/api/v1/cases", query_string={"stage": "assessment", "risk_level": "L2",
                                                   "institution_id": world.lead_id}, headers=headers).get_json()
    assert [c["id"] for c in got["items"]] == [first.id]
    got = api.get("/api/v1/cases", query_string={"institution_id": world.lead_id, "sort": "-created"},
                     headers=headers).get_json()
    ids = [c["id"] for c in got["items"]]
    assert ids.index(first.id) < ids.index(second.id)


def test_a_partner_cannot_learn_a_risk_level_by_filtering(app, svc, world):
    case = Case(svc, world, title="共同研究", partner=True)
    _set(svc, case.id, risk_level="L3")
    partner = sign_in(app, world, "partner_security")
    with svc.db.reader() as session:
        reference = session.get(CaseRow, case.id).reference
    assert reference in _references(_html(partner.get("/cases")))  # the partner sees the case (in part)
    for level in ("L0", "L1", "L2", "L3", "L4"):
        assert reference not in _references(_html(partner.get(f"/cases?risk={level}"))), level
        api = app.test_client()
        got = api.get("/api/v1/cases", query_string={"risk_level": level},
                      headers=bearer(api, world, "partner_security")).get_json()
        assert case.id not in [c["id"] for c in got["items"]]
    lead = sign_in(app, world, "security")
    assert reference in _references(_html(lead.get("/cases?risk=L3")))


# -- notifications --------------------------------------------------------------------------------------------


def test_notifications_of_a_task_that_is_done_are_marked_done(app, svc, world):
    case = Case(svc, world)
    item = case.item("fix_team_roster")
    with unit_of_work(svc) as session:
        (note,) = notify(session, user_ids=[world.users["security"]], kind="assigned", title="名簿を作成してください",
                         case_id=case.id, url=f"/tasks/{item.task_id}")
        session.flush()
        note_id = note.id
    client = sign_in(app, world, "security")
    assert 'data-done="true"' not in _html(client.get("/notifications"))

    commands.complete_task(svc, world.actor("security"), item.task_id, roster(world))
    with svc.db.reader() as session:
        assert session.get(Notification, note_id).read_at is not None  # no longer "to do"
    page = _html(client.get("/notifications?show=all"))
    assert 'data-done="true"' in page
