"""Administration through the API: organizations, users, grants, passwords, for system administrators only."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from service.models import Event, Membership, Organization
from tests.api.test_api import PROBLEM
from tests.web.helpers import bearer

auth = bearer  # one token per person (tests/web/helpers.py)


def call(client, world, who: str, method: str, path: str, body=None, expect: int = 200):
    response = client.open(path, method=method, json=body, headers=auth(client, world, who))
    assert response.status_code == expect, (who, method, path, response.status_code, response.get_data(as_text=True))
    return response.get_json()


def test_only_system_administrators_get_anywhere(client, world):
    user_id = world.users["researcher"]
    probes = [("GET", "/api/v1/admin/organizations", None), ("POST", "/api/v1/admin/organizations", {}),
              ("PATCH", f"/api/v1/admin/organizations/{world.lead_id}", {"active": False}),
              ("GET", "/api/v1/admin/users", None), ("POST", "/api/v1/admin/users", {}),
              ("GET", f"/api/v1/admin/users/{user_id}", None),
              ("POST", f"/api/v1/admin/users/{user_id}/active", {"active": False}),
              ("POST", f"/api/v1/admin/users/{user_id}/password", {}),
              ("POST", f"/api/v1/admin/users/{user_id}/grants", {"organization_id": world.lead_id, "role": "auditor"}),
              ("DELETE", f"/api/v1/admin/users/{user_id}/grants/1", None)]
    for who in ("security", "admin", "fa_manager", "auditor", "designer"):
        for method, path, body in probes:
            response = client.open(path, method=method, json=body, headers=auth(client, world, who))
            assert response.status_code == 404 and response.mimetype == PROBLEM, (who, method, path)
    assert client.get("/api/v1/admin/users").status_code == 401
    # nothing changed
    with world.svc.db.reader() as session:
        assert session.get(Organization, world.lead_id).active


def test_organizations_create_update_deactivate(svc, client, world):
    code = f"{world.tag}-new"
    created = call(client, world, "sysadmin", "POST", "/api/v1/admin/organizations",
                   {"code": code, "name": f"{world.tag} 新大学", "name_en": f"{world.tag} New U",
                    "kind": "institution"}, expect=201)
    assert created["code"] == code and created["active"] and created["members"] == 0
    again = call(client, world, "sysadmin", "POST", "/api/v1/admin/organizations",
                 {"code": code, "name": "x", "kind": "institution"}, expect=422)
    assert {e["pointer"] for e in again["errors"]} == {"/code"}
    bad = call(client, world, "sysadmin", "POST", "/api/v1/admin/organizations",
               {"code": "ok-code-" + secrets.token_hex(2), "name": "y", "kind": "ministry", "country": "J1"},
               expect=422)
    assert bad["errors"][0]["pointer"] == "/country"

    org_id = created["id"]
    renamed = call(client, world, "sysadmin", "PATCH", f"/api/v1/admin/organizations/{org_id}",
                   {"name": f"{world.tag} 新大学（改称）"})
    assert renamed["name"].endswith("（改称）") and renamed["code"] == code
    clash = call(client, world, "sysadmin", "PATCH", f"/api/v1/admin/organizations/{org_id}",
                 {"name": f"{world.tag} 大学A"}, expect=422)
    assert clash["errors"][0]["pointer"] == "/name"
    off = call(client, world, "sysadmin", "PATCH", f"/api/v1/admin/organizations/{org_id}", {"active": False})
    assert off["active"] is False
    listed = call(client, world, "sysadmin", "GET", f"/api/v1/admin/organizations?q={world.tag}-new&active=false")
    assert [o["id"] for o in listed["items"]] == [org_id]
    # forms no longer offer it; no grant in it
    granted = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{world.users['researcher2']}/grants",
                   {"organization_id": org_id, "role": "researcher"}, expect=422)
    assert granted["errors"][0]["pointer"] == "/organization_id"
    assert call(client, world, "sysadmin", "PATCH", f"/api/v1/admin/organizations/{org_id}",
                {"active": True})["active"] is True
    with svc.db.reader() as session:
        actions = set(session.scalars(select(Event.action).where(Event.stream == "system",
                                                                 Event.data["id"].as_integer() == org_id)))
    assert {"organization_created", "organization_updated", "organization_deactivated",
            "organization_reactivated"} <= actions
    call(client, world, "sysadmin", "PATCH", "/api/v1/admin/organizations/999999999", {"active": False}, expect=404)


def test_users_create_deactivate_reactivate_and_passwords(client, world):
    username = f"{world.tag}-created"
    created = call(client, world, "sysadmin", "POST", "/api/v1/admin/users", {
        "username": username, "display_name": "新任 担当", "email": f"{username}@example.jp",
        "organization_id": world.lead_id, "roles": ["security_officer"]}, expect=201)
    password = created["password"]
    assert password and created["user"]["username"] == username
    assert [(g["organization_id"], g["role"]) for g in created["user"]["grants"]] == [(world.lead_id,
                                                                                      "security_officer")]
    user_id = created["user"]["id"]
    taken = call(client, world, "sysadmin", "POST", "/api/v1/admin/users", {
        "username": username, "display_name": "x", "email": "x@example.jp", "organization_id": world.lead_id,
        "roles": ["researcher"]}, expect=422)
    assert taken["errors"][0]["pointer"] == "/username"
    wrong_kind = call(client, world, "sysadmin", "POST", "/api/v1/admin/users", {
        "username": username + "2", "display_name": "x", "email": "x@example.jp", "organization_id": world.lead_id,
        "roles": ["fa_officer"]}, expect=422)
    assert wrong_kind["errors"][0]["pointer"] == "/roles"

    # the new user signs in with the generated password
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201
    their = {"Authorization": f"Bearer {response.get_json()['token']}"}
    assert client.get("/api/v1/cases", headers=their).status_code == 200

    found = call(client, world, "sysadmin", "GET", f"/api/v1/admin/users?q={username}&status=active")
    assert [u["id"] for u in found["items"]] == [user_id] and found["total"] == 1
    off = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/active", {"active": False})
    assert off["active"] is False
    assert client.get("/api/v1/cases", headers=their).status_code == 401  # tokens revoked for good
    assert call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/active",
                {"active": True})["active"] is True
    own = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{world.users['sysadmin']}/active",
               {"active": False}, expect=400)
    assert own["status"] == 400

    new = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/password", {})["password"]
    assert new and new != password
    assert client.post("/api/v1/auth/token", json={"username": username, "password": new}).status_code == 201
    given = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/password",
                 {"password": "Another-Secret-Pass-1"})
    assert given == {"password": None}
    weak = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/password", {"password": "short"},
                expect=422)
    assert weak["errors"][0]["pointer"] == "/password"
    call(client, world, "sysadmin", "GET", "/api/v1/admin/users/999999999", expect=404)


def test_grants_are_granted_and_revoked(svc, client, world):
    user_id = world.users["researcher2"]
    grant = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/grants",
                 {"organization_id": world.lead_id, "role": "institution_admin"}, expect=201)
    assert grant["role"] == "institution_admin" and grant["organization_id"] == world.lead_id
    twice = call(client, world, "sysadmin", "POST", f"/api/v1/admin/users/{user_id}/grants",
                 {"organization_id": world.lead_id, "role": "institution_admin"}, expect=422)
    assert twice["errors"][0]["pointer"] == "/role"
    detail = call(client, world, "sysadmin", "GET", f"/api/v1/admin/users/{user_id}")
    assert grant["id"] in {g["id"] for g in detail["grants"]}
    response = client.delete(f"/api/v1/admin/users/{user_id}/grants/{grant['id']}",
                             headers=auth(client, world, "sysadmin"))
    assert response.status_code == 204
    with svc.db.reader() as session:
        assert session.get(Membership, grant["id"]) is None
    call(client, world, "sysadmin", "DELETE", f"/api/v1/admin/users/{user_id}/grants/{grant['id']}", expect=404)
    with svc.db.reader() as session:
        own = session.scalars(select(Membership).where(Membership.user_id == world.users["sysadmin"],
                                                       Membership.role == "system_admin")).one()
    call(client, world, "sysadmin", "DELETE", f"/api/v1/admin/users/{world.users['sysadmin']}/grants/{own.id}",
         expect=400)
