"""Confidentiality between the organizations of a case (issue 14, points 1 and 2).

* A disclosure profile reaches a form only for the person themselves, or for their own institution's office
  with their consent for that case; it never enters the case (workflow data, event log) before submission.
* A part of a case belongs to the organization it was routed to; a person sees it by their role in *that*
  organization, never through a membership held elsewhere (cross appointments).
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from service.attachments import store_upload
from service.auth.actor import SYSTEM, Actor, Grant
from service.auth.admin import ensure_user, grant_role
from service.auth.permissions import View
from service.errors import ValidationFailed
from service.models import Case, CaseParty, Event, Membership, Organization, User
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD
from tests.screening.driver import Driver, disclosure, member
from tests.web.helpers import sign_in

SECRET = {"research_funding": [{"funder": "Sylvania Defence Fund", "funder_country": "Sylvania",
                                "program": "秘密計画", "title": "機微な研究", "status": "current",
                                "foreign_government": True}]}


@pytest.fixture
def driver(svc, world):
    return Driver(svc, world)


def bearer(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def save_profile(client, username: str, sections: dict) -> None:
    headers = bearer(client, username)
    current = client.get("/api/v1/disclosures/me", headers=headers).get_json()
    base = disclosure("本人")["disclosure"]
    base.pop("certification")
    response = client.put("/api/v1/disclosures/me", headers=headers,
                          json={"data": {**base, **sections}, "expected_version": current["version"]})
    assert response.status_code == 200, response.get_json()


def case_text(driver, case_id: int) -> str:
    return json.dumps([e.data for e in driver.events(case_id)], ensure_ascii=False)


def task_data_for(client, username: str, task_id: str) -> dict:
    response = client.get(f"/api/v1/tasks/{task_id}", headers=bearer(client, username))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


# -- point 1: disclosure pre-fill --------------------------------------------------------------------------------
def test_an_office_naming_another_institutions_researcher_gets_nothing_of_their_profile(
        svc, world, driver, client):
    save_profile(client, world.username("partner_researcher"), SECRET)
    case_id = driver.start()
    # the lead's office names the partner institution's researcher on its own roster, to fill it "on behalf":
    # the roster is refused at that member, and nothing of the researcher's profile enters the case
    with pytest.raises(ValidationFailed) as refused:
        driver.roster(case_id, [member("山田 太郎", "pi", world.username("researcher")),
                                member("他機関 研究者", "student", world.username("partner_researcher"),
                                       filled_by="security_office")])
    assert [e["pointer"] for e in refused.value.errors] == ["/roster/members/1/username"]
    assert not [i for i in driver.items(case_id) if i.form == "disclosure.schema.json"]
    assert "Sylvania" not in case_text(driver, case_id)


def test_a_researcher_who_left_the_institution_is_not_prefilled_for_its_office(svc, world, driver, client):
    """Named while a member of the lead institution, with consent for the case, then left it: the lead's
    office no longer gets the profile when it opens the disclosure task (the rule is checked when the form is
    shown, not when the roster was accepted)."""
    save_profile(client, world.username("partner_researcher"), SECRET)
    with unit_of_work(svc) as session:
        user = session.scalars(select(User).where(User.username == world.username("partner_researcher"))).one()
        grant_role(session, SYSTEM, user, session.get(Organization, world.lead_id), "researcher")
    case_id = driver.start()
    driver.roster(case_id, [member("山田 太郎", "pi", world.username("researcher")),
                            member("他機関 研究者", "student", world.username("partner_researcher"),
                                   filled_by="security_office")])
    (item,) = [i for i in driver.items(case_id) if i.form == "disclosure.schema.json"
               and i.assignee_id is None]
    granted = client.put(f"/api/v1/disclosures/me/consents/{case_id}",
                         headers=bearer(client, world.username("partner_researcher")))
    assert granted.status_code == 200
    office = world.username("security")
    consented = task_data_for(client, office, item.task_id)["disclosure"]
    assert consented["research_funding"][0]["funder"] == "Sylvania Defence Fund"  # the rule lets it through

    with unit_of_work(svc) as session:
        session.execute(delete(Membership).where(Membership.user_id == user.id,
                                                 Membership.organization_id == world.lead_id))
    shown = task_data_for(client, office, item.task_id).get("disclosure") or {}
    assert set(shown) <= {"identity"}  # nothing of the profile; the roster's own data at most
    assert "Sylvania" not in json.dumps(shown, ensure_ascii=False)
    assert "disclosure" not in driver.task_data(case_id, item.task_id)
    assert "Sylvania Defence Fund" not in case_text(driver, case_id)


def test_the_office_prefill_needs_the_researchers_consent_for_that_case(svc, world, driver, client):
    save_profile(client, world.username("researcher"), SECRET)
    case_id = driver.start()
    driver.roster(case_id, [member("山田 太郎", "pi", world.username("researcher"), filled_by="security_office")])
    (item,) = [i for i in driver.items(case_id) if i.form == "disclosure.schema.json"]
    office, researcher = world.username("security"), world.username("researcher")

    without = task_data_for(client, office, item.task_id)["disclosure"]  # no consent yet
    # what the roster and routing know is there (name, the institution); nothing of the profile
    assert set(without) == {"identity"} and without["identity"]["name"] == "山田 太郎"
    assert without["identity"]["affiliation"] == f"{world.tag} 大学A"
    assert "Sylvania Defence Fund" not in case_text(driver, case_id)

    headers = bearer(client, researcher)
    listed = client.get("/api/v1/disclosures/me/consents", headers=headers).get_json()
    assert [(c["case_id"], c["granted"]) for c in listed["items"]] == [(case_id, False)]
    granted = client.put(f"/api/v1/disclosures/me/consents/{case_id}", headers=headers)
    assert granted.status_code == 200 and granted.get_json()["granted"] is True
    shown = task_data_for(client, office, item.task_id)["disclosure"]
    assert shown["research_funding"][0]["funder"] == "Sylvania Defence Fund"
    assert "certification" not in shown  # certified for this case by whoever submits it
    # shown to the office, still not written into the case before someone submits it
    assert "Sylvania Defence Fund" not in case_text(driver, case_id)
    # another office of the same institution sees it too (the office works the task); the FA does not even see
    # the task before the institution submits (docs/security.md)
    assert "research_funding" in task_data_for(client, world.username("security2"), item.task_id)["disclosure"]
    assert client.get(f"/api/v1/tasks/{item.task_id}",
                      headers=bearer(client, world.username("fa_officer"))).status_code == 404

    assert client.delete(f"/api/v1/disclosures/me/consents/{case_id}", headers=headers).status_code == 200
    assert set(task_data_for(client, office, item.task_id)["disclosure"]) == {"identity"}
    # consent is given only for cases whose team one is on
    other = driver.start(title="別の研究")
    assert client.put(f"/api/v1/disclosures/me/consents/{other}", headers=headers).status_code == 404


def test_the_researcher_always_starts_from_their_own_profile(svc, world, driver, client):
    save_profile(client, world.username("researcher"), SECRET)
    case_id = driver.start()
    driver.roster(case_id, [member("山田 太郎", "pi", world.username("researcher"))])
    (item,) = [i for i in driver.items(case_id) if i.form == "disclosure.schema.json"]
    assert item.assignee_id == world.users["researcher"]
    data = task_data_for(client, world.username("researcher"), item.task_id)
    assert data["disclosure"]["research_funding"][0]["program"] == "秘密計画"


# -- point 2: a part belongs to the organization it was routed to --------------------------------------------------
@pytest.fixture
def cross_appointed(svc, world):
    """A partner's security officer who is also a researcher of the lead institution."""
    with unit_of_work(svc) as session:
        user, _ = ensure_user(session, SYSTEM, username=world.username("cross"), display_name="兼務 花子",
                              email=f"{world.username('cross')}@example.jp", password=PASSWORD)
        grant_role(session, SYSTEM, user, session.get(Organization, world.partner_id), "security_officer")
        grant_role(session, SYSTEM, user, session.get(Organization, world.lead_id), "researcher")
        return user.id


def _case_with_partner(svc, world, driver) -> tuple[int, str, str]:
    """A case whose lead completed its roster step (with evidence) and named a partner; returns the case, the
    lead's evidence file and the roster step's title."""
    case_id = driver.start()
    # evidence of the lead's own, uploaded while working the lead's roster task
    (roster,) = driver.items(case_id, "fix_team_roster")
    stored = store_upload(svc, driver.actor("security"), roster.task_id, "lead-evidence.pdf",
                          io.BytesIO(b"%PDF-1.4\n% lead only\n"))
    driver.roster(case_id, [member("山田 太郎", "pi", world.username("researcher"))],
                  [{"organization_id": world.partner_id, "name": "B大学",
                    "members": [member("田中 次郎", "co_pi", world.username("partner_researcher"))]}])
    return case_id, stored.id, roster.title


def test_a_cross_appointment_sees_the_partner_part_only(svc, world, driver, client, cross_appointed):
    case_id, lead_file, roster_title = _case_with_partner(svc, world, driver)
    headers = bearer(client, world.username("cross"))
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["risk_level"] is None

    client = sign_in(client.application, world, "cross")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "山田 太郎" not in html  # the lead's team
    assert "田中 次郎" in html  # the partner's own team
    assert "lead-evidence.pdf" not in html
    assert "tejun-diagram-data" not in html  # progress through the lead's steps
    assert client.get(f"/attachments/{lead_file}").status_code == 404
    assert client.get(f"/cases/{case_id}/diagram/research_security_case.bpmn").status_code == 404
    # the lead's roster step is not among the partner's steps; the lead's own office sees all of it
    assert roster_title not in html
    lead_html = sign_in(client.application, world, "security").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "山田 太郎" in lead_html and "lead-evidence.pdf" in lead_html and roster_title in lead_html


def test_a_profile_lists_only_certifications_of_parts_the_reader_sees(svc, world, driver, client,
                                                                      cross_appointed):
    # the cross-appointed researcher certifies a disclosure in a lead-only case
    case_id = driver.start()
    driver.roster(case_id, [member("兼務 花子", "pi", world.username("cross"))])
    (item,) = [i for i in driver.items(case_id) if i.form == "disclosure.schema.json"]
    from service.cases import commands
    commands.complete_task(svc, _actor(svc, cross_appointed), item.task_id, disclosure("兼務 花子"))
    owner = cross_appointed
    mine = client.get("/api/v1/disclosures/me", headers=bearer(client, world.username("cross"))).get_json()
    assert [c["case_id"] for c in mine["certifications"]] == [case_id]
    # the lead's office sees it; the partner's office may read the profile (she belongs to the partner)
    # but not a certification of a case it has no part in
    lead = client.get(f"/api/v1/disclosures/{owner}", headers=bearer(client, world.username("security")))
    assert [c["case_id"] for c in lead.get_json()["certifications"]] == [case_id]
    partner = client.get(f"/api/v1/disclosures/{owner}",
                         headers=bearer(client, world.username("partner_security")))
    assert partner.status_code == 200 and partner.get_json()["certifications"] == []


def _actor(svc, user_id: int) -> Actor:
    from service.models import User
    with svc.db.reader() as session:
        return Actor.from_user(session.get(User, user_id))


# -- the rule against the documented matrix, with generated people ----------------------------------------------------
ORGS = {"fa": ("funding_agency", 1), "fa2": ("funding_agency", 2), "lead": ("institution", 3),
        "partner": ("institution", 4), "other": ("institution", 5), "ministry": ("ministry", 6),
        "ministry2": ("ministry", 7)}
ROLES_BY_KIND = {"funding_agency": ["fa_officer", "fa_manager", "auditor", "process_designer", "system_admin"],
                 "institution": ["security_officer", "institution_admin", "researcher", "auditor"],
                 "ministry": ["ministry_officer"]}
grants = st.sampled_from(list(ORGS)).flatmap(
    lambda org: st.builds(lambda role, scope: (org, role, scope),
                          st.sampled_from(ROLES_BY_KIND[ORGS[org][0]]), st.sampled_from(["all", "fa"])))


def _documented(actor_grants, parties: set[str], awaiting: bool = False) -> tuple[View, set[str]]:
    """docs/security.md, "How much of a case one sees", written out independently of permissions.py.

    `awaiting`: the institution has not submitted yet ("Before the institution submits ..."): the FA's staff
    see the FA's own part only."""
    fa_staff = any(org == "fa" and role in ("fa_officer", "fa_manager") for org, role, _ in actor_grants)
    full = any(role == "auditor" and (scope == "all" or org == "fa") for org, role, scope in actor_grants) or any(
        (org == "lead" and role in ("security_officer", "institution_admin"))
        for org, role, _ in actor_grants) or (fa_staff and not awaiting)
    if full:
        return View.FULL, set(ORGS)
    part = {org for org, role, _ in actor_grants if org in parties and (
        (ORGS[org][0] == "institution" and role in ("security_officer", "institution_admin"))
        or (ORGS[org][0] == "ministry" and role == "ministry_officer"))}
    if fa_staff:
        part.add("fa")
    return (View.PART, part) if part else (View.NONE, set())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actor_grants=st.lists(grants, min_size=1, max_size=4),
       parties=st.sets(st.sampled_from(["partner", "other", "ministry", "ministry2"])),
       submission=st.sampled_from([None, "awaiting", "submitted"]))
def test_case_scope_follows_the_documented_matrix_for_people_with_several_memberships(actor_grants, parties,
                                                                                       submission):
    from service.auth.permissions import case_scope

    case = Case(id=1, funding_agency_id=ORGS["fa"][1], lead_institution_id=ORGS["lead"][1],
                fa_submission=submission)
    case.parties = [CaseParty(organization_id=ORGS[p][1], role="ministry" if ORGS[p][0] == "ministry"
                              else "partner") for p in parties]
    actor = Actor(user_id=99, username="generated", grants=tuple(
        Grant(ORGS[org][1], ORGS[org][0], role, scope if role == "auditor" else "organization")
        for org, role, scope in actor_grants))
    scope = case_scope(actor, case)
    view, seen = _documented(actor_grants, parties, awaiting=submission == "awaiting")
    assert scope.view == view
    for org, (_kind, org_id) in ORGS.items():
        assert scope.sees(org_id) == (org in seen), (org, actor_grants, parties)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(st.sampled_from([("partner", "security_officer"), ("partner", "institution_admin"),
                                       ("lead", "researcher"), ("partner", "researcher"),
                                       ("ministry", "ministry_officer")]), min_size=1, max_size=3, unique=True))
def test_generated_people_see_through_pages_and_api_what_their_roles_allow(svc, world, client, extra):
    """One case with lead and partner parts; generated people holding several memberships read it."""
    case_id = _shared_case(svc, world)
    with unit_of_work(svc) as session:
        who = f"gen{len(_made)}"
        name = world.username(who)
        _made.append(name)
        user, _ = ensure_user(session, SYSTEM, username=name, display_name=name, email=f"{name}@example.jp",
                              password=PASSWORD)
        ids = {"partner": world.partner_id, "lead": world.lead_id, "ministry": world.ministry_id}
        for org, role in extra:
            grant_role(session, SYSTEM, user, session.get(Organization, ids[org]), role)
    partner_staff = any(org == "partner" and role != "researcher" for org, role in extra)
    fresh = sign_in(client.application, world, who)
    page = fresh.get(f"/cases/{case_id}")
    api = fresh.get(f"/api/v1/cases/{case_id}")
    if not partner_staff:
        # a lead researcher not on the team, a ministry never consulted, a partner's researcher: nothing
        assert page.status_code == 404 and api.status_code == 404
        return
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and api.get_json()["risk_level"] is None
    assert "山田 太郎" not in html and "田中 次郎" in html and "lead-evidence.pdf" not in html
    with svc.db.reader() as session:
        lead_events = session.scalars(select(Event.task_id).where(Event.case_id == case_id,
                                                                  Event.action == "task_completed")).all()
    assert lead_events  # the lead's roster step happened …
    assert _shared_titles[world.tag] not in html  # … and is not on the partner's page


_made: list[str] = []
_shared: dict[str, int] = {}
_shared_titles: dict[str, str] = {}


def _shared_case(svc, world) -> int:
    if world.tag not in _shared:
        driver = Driver(svc, world)
        _shared[world.tag], _, _shared_titles[world.tag] = _case_with_partner(svc, world, driver)
    return _shared[world.tag]


# -- decided: the FA and an institution's own restricted-party list -------------------------------------------------
def test_the_fa_sees_a_hit_on_the_institutions_own_list_but_not_the_entry(svc, world, driver, client):
    from service.models import Organization as Org
    from service.screening.importers import import_list
    from tests.screening.driver import SAMPLES

    with svc.db.reader() as session:
        code = session.get(Org, world.lead_id).code
    import_list(svc, SYSTEM, "institution_list", SAMPLES / "institution_list.csv", organization_code=code,
                label=f"{world.tag} 取引禁止先")
    appointment = {"M1": {"appointments": [{"institution": "Marxonia Advanced Computing Laboratory",
                                            "country": "Marxonia", "current": True, "foreign": True}]}}
    case_id = driver.to_screening([member("山田 太郎", "pi", world.username("researcher"))], None, appointment)

    def hits_for(who: str) -> list[dict]:
        response = client.get(f"/api/v1/screening/cases/{case_id}", headers=bearer(client, world.username(who)))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return [h for s in body["subjects"] for h in s["hits"] if h["source"] == "institution_list"], body

    own, body = hits_for("security")
    assert own and own[0]["entry_name"] == "Marxonia Advanced Computing Laboratory"
    assert any(s["label"] == f"{world.tag} 取引禁止先" for s in body["snapshots"] if s.get("label"))
    # screening is the institution's working data: the FA reads it once the institution submitted
    assert client.get(f"/api/v1/screening/cases/{case_id}",
                      headers=bearer(client, world.username("fa_officer"))).status_code == 404
    from service.models import ScreeningHit
    from service.screening.review import review_hit

    with svc.db.reader() as session:
        pending = session.scalars(select(ScreeningHit.id).where(ScreeningHit.case_id == case_id,
                                                                ScreeningHit.decision.is_(None))).all()
    for hit_id in pending:
        review_hit(svc, driver.actor("security"), hit_id, decision="false_positive", reason="同名の別機関")
    driver.to_acceptance(case_id)
    fa, body = hits_for("fa_officer")
    assert fa and all(h["entry_name"] == "—" for h in fa)
    text = json.dumps(body, ensure_ascii=False)
    assert "学内の共同研究禁止先" not in text and "INST-001" not in text and "MACL" not in text
    assert not any(s.get("label") == f"{world.tag} 取引禁止先" for s in body["snapshots"])
    # the lead's researchers do not list the institution's own lists either (the office's, by role)
    snapshots = client.get("/api/v1/screening/snapshots",
                           headers=bearer(client, world.username("researcher"))).get_json()
    assert not any(s.get("label") == f"{world.tag} 取引禁止先" for s in snapshots)
