"""A case's data through the API (steps, timeline, tasks, team, attachments, submissions), programmes, calls,
organizations, reference lists and designations: the case page's views and permissions, paged and filtered."""

from __future__ import annotations

import io

import pytest

from service.attachments import store_upload
from service.auth.permissions import case_scope
from service.cases import history
from service.models import Case
from tests.api.test_api import PROBLEM
from tests.procedure.drive import Driver
from tests.web.helpers import bearer, sign_in

auth = bearer  # one token per person (tests/web/helpers.py)


@pytest.fixture
def driven(svc, world):
    """A case with partner B: roster, disclosures and the partner's due diligence done; the lead's managed-data
    step open."""
    d = Driver(svc, world)
    case_id = d.start()
    d.roster(case_id)
    d.disclosures(case_id)
    d.partner_risk_management(case_id)
    return d, case_id


def get(client, world, who: str, path: str, expect: int = 200):
    response = client.get(path, headers=auth(client, world, who))
    assert response.status_code == expect, (who, path, response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()


def test_steps_are_the_case_pages_steps_per_scope(svc, world, client, driven):
    d, case_id = driven
    full = get(client, world, "security", f"/api/v1/cases/{case_id}/steps?per_page=100")
    elements = [s["element_id"] for s in full["items"]]
    assert "fix_team_roster" in elements and "review_partner_assessment" in elements
    # the partner's people's disclosures and its screening of them stay with the partner (not shared here)
    assert "partner_due_diligence_review" not in elements and "fill_partner_member_disclosure" not in elements
    assert full["total"] == len(full["items"])
    # exactly what the case page computes for the same actor
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        scope = case_scope(d.actor("security"), case)
        found = history.model_map(session, case.model_version_id, case.process_id)
        expected = [s.element_id for s in history.steps(history.history(session, scope, case, "ja"), found)]
    assert elements == expected
    roster = next(s for s in full["items"] if s["element_id"] == "fix_team_roster")
    assert roster["data"]["roster"]["members"][0]["name"] == "山田 太郎" and roster["form"] == "team_roster.schema.json"

    # the partner: only the steps routed to it (never the lead's roster)
    part = get(client, world, "partner_security", f"/api/v1/cases/{case_id}/steps?per_page=100")
    part_elements = {s["element_id"] for s in part["items"]}
    assert "partner_due_diligence_review" in part_elements
    assert "fix_team_roster" not in part_elements and "fill_disclosure" not in part_elements
    # a researcher on the team: the summary, no steps; people outside the case: 404
    assert get(client, world, "researcher", f"/api/v1/cases/{case_id}/steps")["items"] == []
    for outsider in ("ministry", "designer", "sysadmin"):
        body = get(client, world, outsider, f"/api/v1/cases/{case_id}/steps", 404)
        assert body["status"] == 404


def test_lists_are_paged_and_filtered(world, client, driven):
    _d, case_id = driven
    first = get(client, world, "security", f"/api/v1/cases/{case_id}/steps?per_page=1&page=1")
    second = get(client, world, "security", f"/api/v1/cases/{case_id}/steps?per_page=1&page=2")
    assert len(first["items"]) == len(second["items"]) == 1 and first["total"] >= 3
    assert first["items"][0] != second["items"][0]
    only = get(client, world, "security", f"/api/v1/cases/{case_id}/steps?element_id=fix_team_roster")
    assert [s["element_id"] for s in only["items"]] == ["fix_team_roster"]
    timeline = get(client, world, "security", f"/api/v1/cases/{case_id}/timeline?action=case_started&lang=en")
    assert [e["action"] for e in timeline["items"]] == ["case_started"]
    bad = client.get(f"/api/v1/cases/{case_id}/steps?per_page=1000", headers=auth(client, world, "security"))
    assert bad.status_code == 422 and bad.mimetype == PROBLEM


def test_timeline_tasks_and_team_follow_the_scope(world, client, driven):
    _d, case_id = driven
    full = get(client, world, "security", f"/api/v1/cases/{case_id}/timeline?per_page=100")
    assert full["items"][0]["action"] == "case_started" and full["items"][0]["actor"]
    seqs = [e["seq"] for e in full["items"]]
    assert seqs == sorted(seqs)
    part = get(client, world, "partner_security", f"/api/v1/cases/{case_id}/timeline?per_page=100")
    assert part["items"] and "case_started" not in {e["action"] for e in part["items"]}
    assert len(part["items"]) < len(full["items"])

    tasks = get(client, world, "security", f"/api/v1/cases/{case_id}/tasks")
    assert "record_managed_data" in {t["element_id"] for t in tasks["items"]}
    assert get(client, world, "partner_security", f"/api/v1/cases/{case_id}/tasks")["items"] == []
    assert get(client, world, "security", f"/api/v1/cases/{case_id}/tasks?role=fa_officer")["items"] == []

    team = get(client, world, "security", f"/api/v1/cases/{case_id}/team")
    assert [m["name"] for m in team["members"]][:1] == ["山田 太郎"] and len(team["partners"]) == 1
    partner_team = get(client, world, "partner_security", f"/api/v1/cases/{case_id}/team")
    assert partner_team["members"] == [] and [p["organization_id"] for p in partner_team["partners"]] == [
        world.partner_id]
    assert get(client, world, "researcher", f"/api/v1/cases/{case_id}/team") == {"members": [], "partners": []}
    get(client, world, "ministry", f"/api/v1/cases/{case_id}/team", 404)
    assert get(client, world, "security", f"/api/v1/cases/{case_id}/submissions") == {
        "items": [], "total": 0, "page": 1, "per_page": 25}
    get(client, world, "ministry", f"/api/v1/cases/{case_id}/submissions", 404)


def test_attachments_list_and_download_like_the_page(svc, world, client, driven):
    d, case_id = driven
    (item,) = d.items(case_id, "record_managed_data")
    stored = store_upload(svc, d.actor("security"), item.task_id, "inventory.txt", io.BytesIO(b"managed data\n"))
    listed = get(client, world, "security", f"/api/v1/cases/{case_id}/attachments")
    assert [(a["public_id"], a["name"], a["size"]) for a in listed["items"]] == [(stored.id, "inventory.txt", 13)]
    assert listed["items"][0]["download"] == f"/api/v1/attachments/{stored.id}"
    assert get(client, world, "security", f"/api/v1/cases/{case_id}/attachments?element_id=other")["items"] == []

    # the FA reads the institution's evidence once it was submitted (docs/security.md), not before
    fa = client.get(f"/api/v1/attachments/{stored.id}", headers=auth(client, world, "fa_officer"))
    assert fa.status_code == 404 and fa.mimetype == PROBLEM
    headers = auth(client, world, "security")
    api = client.get(f"/api/v1/attachments/{stored.id}", headers=headers)
    assert api.status_code == 200 and api.data == b"managed data\n"
    page_client = sign_in(client.application, world, "security")
    page = page_client.get(f"/attachments/{stored.id}")
    for header in ("Content-Type", "Content-Disposition", "Content-Security-Policy", "X-Content-Type-Options",
                   "Cache-Control", "Content-Length"):
        assert api.headers.get(header) == page.headers.get(header), header
    # the partner does not see the lead's part: not listed, not downloadable
    assert get(client, world, "partner_security", f"/api/v1/cases/{case_id}/attachments")["items"] == []
    for who in ("partner_security", "ministry"):
        response = client.get(f"/api/v1/attachments/{stored.id}", headers=auth(client, world, who))
        assert response.status_code == 404 and response.mimetype == PROBLEM, who


def test_programmes_calls_organizations_and_reference_lists(world, client):
    programs = get(client, world, "researcher", f"/api/v1/programs?funding_agency_id={world.fa_id}")
    assert [p["id"] for p in programs["items"]] == [world.program_id] and programs["total"] == 1
    assert programs["items"][0]["call_ids"] == [world.call_id]
    assert get(client, world, "ministry", f"/api/v1/programs/{world.program_id}")["code"] == f"{world.tag}-prog"
    calls = get(client, world, "security", f"/api/v1/calls?program_id={world.program_id}&status=open")
    assert [c["code"] for c in calls["items"]] == [f"{world.tag}-call"]
    assert get(client, world, "security", f"/api/v1/calls/{world.call_id}")["risk_deadline"] == "2027-01-29"
    get(client, world, "security", "/api/v1/calls/999999999", 404)
    orgs = get(client, world, "security", f"/api/v1/organizations?kind=institution&q={world.tag}")
    assert {o["id"] for o in orgs["items"]} == {world.lead_id, world.partner_id}
    assert get(client, world, "security", f"/api/v1/organizations/{world.fa_id}")["kind"] == "funding_agency"
    for name in ("technology_areas", "risk_levels", "mitigation_catalog"):
        body = get(client, world, "researcher", f"/api/v1/reference/{name}?per_page=100")
        assert body["total"] == len(body["items"]), name
    assert client.get("/api/v1/programs").status_code == 401


def test_a_designation_starts_as_on_the_page(world, client):
    body = {"funding_agency_id": world.fa_id, "title": "重要技術プログラムの指定"}
    response = client.post("/api/v1/designations", json=body, headers=auth(client, world, "fa_officer"))
    assert response.status_code == 201, response.get_json()
    case = get(client, world, "fa_officer", f"/api/v1/cases/{response.get_json()['case_id']}")
    assert case["kind"] == "designation" and case["reference"].startswith("PD-")
    for who in ("security", "designer", "sysadmin"):
        refused = client.post("/api/v1/designations", json=body, headers=auth(client, world, who))
        assert refused.status_code == 404 and refused.mimetype == PROBLEM, who
    bad = client.post("/api/v1/designations", json={"funding_agency_id": world.fa_id, "title": ""},
                      headers=auth(client, world, "fa_officer"))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["pointer"] == "/title"


def test_new_operations_are_documented_with_examples(client, world):
    spec = get(client, world, "security", "/api/v1/openapi.json")
    for path in ("/api/v1/cases/{case_id}/steps", "/api/v1/cases/{case_id}/timeline", "/api/v1/cases/{case_id}/tasks",
                 "/api/v1/cases/{case_id}/team", "/api/v1/cases/{case_id}/attachments", "/api/v1/programs",
                 "/api/v1/calls/{call_id}", "/api/v1/organizations", "/api/v1/reference/risk_levels",
                 "/api/v1/admin/users"):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert "example" in content, path
    assert "example" in spec["paths"]["/api/v1/designations"]["post"]["requestBody"]["content"]["application/json"]
