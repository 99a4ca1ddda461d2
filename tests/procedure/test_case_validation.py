"""What may enter a case (issue 18, point 7): the lead is not its own partner, exactly one PI, no project end
in the past, a roster names people of the institutions concerned only. Refused with a 422 and a pointer per
problem, in the API and on the page, and nothing of the refused input is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from service.audit.replay import replay_and_compare
from service.cases import commands
from service.errors import ValidationFailed
from service.forms import references
from service.models import Case, Event
from tests.web.helpers import bearer, post, sign_in

from .drive import Driver, member, roster


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def cases_of(svc, lead_id: int) -> int:
    with svc.db.reader() as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.lead_institution_id == lead_id))


def refused(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return {e["pointer"]: e["message"] for e in caught.value.errors}


def test_a_start_naming_the_lead_as_partner_or_ending_in_the_past_opens_nothing(drive, world, svc):
    def start(**kwargs):
        return commands.start_case(svc, drive.actor("security"), call_id=world.call_id,
                                   lead_institution_id=world.lead_id, title="量子センサの研究", **kwargs)

    problems = refused(lambda: start(partner_ids=(world.partner_id, world.lead_id),
                                     project_end_date=date(2026, 3, 31)))  # the clock stands at 2026-04-01
    assert problems == {"/partner_ids/1": "代表機関を共同研究先にすることはできません。",
                        "/project_end_date": "研究期間の終了日が過去の日付です。"}
    assert cases_of(svc, world.lead_id) == 0
    # today is not the past
    assert start(partner_ids=(world.partner_id,), project_end_date=date(2026, 4, 1)).case_id


def test_the_api_answers_422_with_pointers_and_the_page_marks_the_fields(app, world, svc, travel):
    client = app.test_client()
    response = client.post("/api/v1/cases", headers=bearer(client, world, "security"), json={
        "call_id": world.call_id, "lead_institution_id": world.lead_id, "title": "量子センサの研究",
        "partner_ids": [world.lead_id], "project_end_date": "2025-03-31"})
    assert response.status_code == 422
    assert {e["pointer"] for e in response.get_json()["errors"]} == {"/partner_ids/0", "/project_end_date"}

    page = sign_in(app, world, "security")
    response = post(page, "/cases/new", {"call_id": str(world.call_id), "title": "量子センサの研究",
                                         "project_end_date": "2025-03-31", "variant": "domestic"})
    assert response.status_code == 422
    assert 'id="project_end_date-error"><li>研究期間の終了日が過去の日付です。</li>' in response.get_data(as_text=True)
    assert cases_of(svc, world.lead_id) == 0


def test_a_roster_needs_one_pi_of_the_lead_and_people_of_the_institutions_named(drive, world, svc):
    case_id = drive.start()
    item = drive.item(case_id, "fix_team_roster")
    version = drive.case(case_id).version

    bad = roster(world, end_date=date(2026, 3, 1))
    team = bad["roster"]["members"]
    team[1]["role"] = "pi"  # two PIs
    team[2]["username"] = world.username("partner_researcher")  # a person of B, on A's team
    partner = bad["roster"]["partners"][0]
    partner["members"][1]["role"] = "pi"
    partner["members"][1]["username"] = world.username("researcher")  # a person of A, on B's team
    bad["roster"]["partners"].append({"organization_id": world.lead_id, "name": "A大学",
                                      "members": [member("中村 五郎", "co_pi")]})
    problems = refused(lambda: commands.complete_task(svc, drive.actor("security"), item.task_id, bad))
    assert problems == {
        "/roster/project/end_date": "研究期間の終了日が過去の日付です。",
        "/roster/members/1/role": "研究代表者（PI）は1課題につき1名です。",
        "/roster/members/2/username": f"{world.username('partner_researcher')} はこの機関の者ではありません。",
        "/roster/partners/0/members/1/role": "研究代表者（PI）は研究代表機関のチームに属します。",
        "/roster/partners/0/members/1/username": f"{world.username('researcher')} はこの機関の者ではありません。",
        "/roster/partners/1/organization_id": "代表機関を共同研究先にすることはできません。",
    }
    no_pi = roster(world)
    no_pi["roster"]["members"][0]["role"] = "participant"
    assert set(refused(lambda: commands.complete_task(svc, drive.actor("security"), item.task_id, no_pi))) == {
        "/roster/members"}  # the form's own schema asks for a PI (`contains`)

    # nothing of the refused rosters was written: the task is still open, the case unchanged
    assert drive.case(case_id).version == version
    assert drive.ready(case_id) == ["fix_team_roster"]
    assert not drive.events(case_id, "task_completed")

    # an English-speaking officer reads the same problems in English
    english = replace(drive.actor("security"), locale="en")
    two_pis = roster(world)
    two_pis["roster"]["members"][1]["role"] = "pi"
    assert refused(lambda: commands.complete_task(svc, english, item.task_id, two_pis)) == {
        "/roster/members/1/role": "Only one principal investigator (PI) per project."}

    # a username nobody has is allowed (its disclosure waits in the institution's queue); the rest goes on
    good = roster(world)
    good["roster"]["members"].append(member("伊藤 四郎", "participant", "not-yet-registered"))
    drive.do(case_id, "fix_team_roster", "security", good)
    assert "fill_disclosure" in drive.ready(case_id)
    with svc.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.case_id == case_id, Event.action == "task_completed")) == 1
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences
