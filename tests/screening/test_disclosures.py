"""Disclosure profiles: reused across cases, certified per case, changes followed up; API and page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.models import DisclosureCertification, PendingFollowUp
from tests.conftest import PASSWORD
from tests.screening.driver import Driver, disclosure, member, today
from tests.web.helpers import token_for

PROBLEM = "application/problem+json"


@pytest.fixture
def driver(svc, world):
    return Driver(svc, world)


def _team(world):
    return [member("山田 太郎", "pi", world.username("researcher")),
            member("鈴木 一郎", "student", filled_by="security_office")]


FUNDING = {"research_funding": [{"funder": "日本学術振興会", "funder_country": "日本", "program": "科研費",
                                 "title": "量子センサ", "status": "current", "foreign_government": False}]}


def _certifications(svc, case_id):
    with svc.db.reader() as session:
        return list(session.scalars(select(DisclosureCertification)
                                    .where(DisclosureCertification.case_id == case_id)
                                    .order_by(DisclosureCertification.id)))


def test_a_disclosure_is_reused_by_the_next_case_and_certified_again(svc, world, driver, client):
    first = driver.start()
    driver.roster(first, _team(world))
    driver.disclose_all(first, {"M1": FUNDING})
    (cert,) = [c for c in _certifications(svc, first) if c.member_id == "M1"]
    assert cert.user_id == world.users["researcher"] and cert.filled_by == "self"
    assert cert.certification_date.isoformat() == today() and cert.profile_version == 1
    assert [e.data["member_id"] for e in driver.events(first, "disclosure_certified")] == ["M1", "M2"]

    second = driver.start(title="次の研究")
    driver.roster(second, _team(world))
    fill = driver.item(second, "fill_disclosure")
    # the profile is shown to the researcher, not copied into the case before they submit it
    assert "disclosure" not in driver.task_data(second, fill.task_id)
    assert not driver.events(second, "disclosure_prefilled")

    # the form shows the profile; the researcher certifies it for this case
    form = client.get(f"/api/v1/tasks/{fill.task_id}", headers=token_for(client, world.username("researcher")))
    prefilled = form.get_json()["data"]["disclosure"]
    assert prefilled["research_funding"][0]["program"] == "科研費"
    assert "certification" not in prefilled  # certified again, for this case
    driver.disclose_all(second, {"M1": FUNDING})
    (again,) = [c for c in _certifications(svc, second) if c.member_id == "M1"]
    assert again.profile_version == 1 and again.case_id == second  # unchanged profile, new certification

    me = client.get("/api/v1/disclosures/me", headers=token_for(client, world.username("researcher"))).get_json()
    assert me["version"] == 1 and me["may_edit"] is True
    assert {c["case_id"] for c in me["certifications"]} == {first, second}


def test_who_may_see_and_edit_a_profile(svc, world, driver, client):
    case_id = driver.start()
    driver.roster(case_id, _team(world))
    driver.disclose_all(case_id)
    owner = world.users["researcher"]
    assert client.get(f"/api/v1/disclosures/{owner}",
                      headers=token_for(client, world.username("security"))).status_code == 200
    for outsider in ("researcher2", "partner_security", "fa_officer"):
        response = client.get(f"/api/v1/disclosures/{owner}", headers=token_for(client, world.username(outsider)))
        assert response.status_code == 404 and response.mimetype == PROBLEM
    # nobody edits another's profile: the only write is on /me
    assert client.put(f"/api/v1/disclosures/{owner}", json={"data": {}},
                      headers=token_for(client, world.username("security"))).status_code == 405

    headers = token_for(client, world.username("researcher"))
    current = client.get("/api/v1/disclosures/me", headers=headers).get_json()
    bad = dict(current["data"], disciplinary_history={"has_history": "yes"})
    response = client.put("/api/v1/disclosures/me", json={"data": bad}, headers=headers)
    assert response.status_code == 422
    assert any(e["pointer"] == "/disclosure/disciplinary_history/has_history" for e in response.get_json()["errors"])
    stale = client.put("/api/v1/disclosures/me", json={"data": current["data"] | FUNDING, "expected_version": 99},
                       headers=headers)
    assert stale.status_code == 409


def test_a_changed_profile_follows_up_on_the_researchers_active_cases(svc, world, driver, client):
    accepted = driver.start()
    driver.roster(accepted, _team(world))
    driver.disclose_all(accepted)
    driver.managed_data(accepted)
    driver.to_acceptance(accepted)
    in_application = driver.start(title="申請中の研究")
    driver.roster(in_application, _team(world))
    driver.disclose_all(in_application)
    without_them = driver.start(title="別の研究")
    driver.roster(without_them, [member("鈴木 一郎", "pi", filled_by="security_office")])
    driver.disclose_all(without_them)
    version = driver.case(without_them).version

    headers = token_for(client, world.username("researcher"))
    current = client.get("/api/v1/disclosures/me", headers=headers).get_json()
    changed = dict(current["data"], appointments=[{"institution": "Sylvania Aerospace University",
                                                   "country": "Sylvania", "current": True, "foreign": True}])
    response = client.put("/api/v1/disclosures/me", json={"data": changed, "expected_version": current["version"]},
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["changed_sections"] == ["appointments"] and body["version"] == current["version"] + 1
    assert body["follow_up_case_ids"] == [accepted] and body["pending_case_ids"] == [in_application]

    (report,) = driver.items(accepted, "follow_up_report")
    trigger = driver.task_data(accepted, report.task_id)["follow_up_trigger"]
    assert trigger["kind"] == "disclosure_changed" and trigger["member_id"] == "M1"
    assert trigger["changed_sections"] == ["appointments"]
    assert driver.task_data(accepted, report.task_id)["follow_up_report"]["changed_subject_ids"] == ["M1"]
    with svc.db.reader() as session:
        waiting = session.scalars(select(PendingFollowUp).where(PendingFollowUp.case_id == in_application)).all()
    assert [(w.message, w.status) for w in waiting] == [("disclosure_changed", "pending")]
    assert driver.case(without_them).version == version
    assert driver.events(without_them, "disclosure_profile_changed") == []
    titles = [n.title for n in driver.notifications("security", "follow_up")]
    assert any(t.startswith(driver.case(accepted).reference) for t in titles)


def test_the_disclosure_page(app, svc, world, driver):
    case_id = driver.start()
    driver.roster(case_id, _team(world))
    driver.disclose_all(case_id)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/login", data={"username": world.username("researcher"), "password": PASSWORD,
                                 "csrf_token": token})
    html = browser.get("/disclosure?lang=en").get_data(as_text=True)
    assert "Disclosure profile" in html and driver.case(case_id).reference in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    version = re.search(r'data-expected-version="(\d+)"', html).group(1)
    broken = browser.post("/disclosure?lang=en", data={"csrf_token": token, "expected_version": version,
                                                       "profile": '{"identity": {}}'})
    assert broken.status_code == 422 and "/disclosure/identity" in broken.get_data(as_text=True)
    profile = disclosure("山田 太郎", **FUNDING)["disclosure"]
    import json

    saved = browser.post("/disclosure?lang=en", data={"csrf_token": token, "expected_version": version,
                                                      "profile": json.dumps(profile, ensure_ascii=False)})
    assert saved.status_code == 302
    assert "research_funding" in browser.get("/disclosure?lang=en").get_data(as_text=True)
