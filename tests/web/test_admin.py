"""The system administrator's pages: organizations, users, role grants, passwords, account status.

Everything goes through the real pages (login form, CSRF tokens) and the real database; each change must leave
an event on the `system` stream, and every other role must find no admin page at all.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service import clock
from service.auth import admin
from service.auth.actor import SYSTEM
from service.errors import Forbidden
from service.models import Event, Membership, Organization, User
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD, PEOPLE
from tests.web.helpers import csrf, post, sign_in

ELSEWHERE = "192.0.2.77"  # failed sign-ins from a documentation address, not counted against 127.0.0.1


def events(svc, action: str) -> list[Event]:
    with svc.db.reader() as session:
        return list(session.scalars(select(Event).where(Event.stream == "system", Event.action == action)
                                    .order_by(Event.seq)))


def system_events(svc) -> int:
    with svc.db.reader() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.stream == "system"))


def user_by_name(svc, username: str) -> User | None:
    with svc.db.reader() as session:
        return session.scalars(select(User).where(User.username == username)).first()


def grants_of(svc, user_id: int) -> set[tuple[int, str, str]]:
    with svc.db.reader() as session:
        return {(m.organization_id, m.role, m.scope)
                for m in session.scalars(select(Membership).where(Membership.user_id == user_id))}


def shown_password(html: str) -> str:
    return re.search(r'value="([^"]+)" size="32" data-new-password', html).group(1)


def try_sign_in(app, username: str, password: str, remote_addr: str = "127.0.0.1"):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)},
                           environ_base={"REMOTE_ADDR": remote_addr})
    return client, response


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<ul class="tejun-field-errors" id="{field}-error"><li>([^<]+)</li>', html)
    return found.group(1) if found else ""


def test_an_administrator_manages_organizations_users_roles_and_passwords(app, svc, world):
    sysadmin = sign_in(app, world, "sysadmin", lang="en")
    actor_id = world.users["sysadmin"]
    tag = secrets.token_hex(3)

    assert 'href="/admin/users"' in sysadmin.get("/").get_data(as_text=True)  # the header links here
    # the list shows the organizations with their members; a new one is created
    page = sysadmin.get("/admin/organizations").get_data(as_text=True)
    assert f"{world.tag} University A" in page
    response = post(sysadmin, "/admin/organizations/new", {"code": f"{tag}-uni", "name": f"{tag} 大学",
                                                           "name_en": f"{tag} University", "kind": "institution",
                                                           "country": "JP"})
    assert response.status_code == 302
    with svc.db.reader() as session:
        org = session.scalars(select(Organization).where(Organization.code == f"{tag}-uni")).one()
        org_id = org.id
    assert response.headers["Location"].endswith(f"/admin/organizations/{org_id}")
    created = [e for e in events(svc, "organization_created") if e.data["id"] == org_id]
    assert [(e.actor_id, e.data["kind"]) for e in created] == [(actor_id, "institution")]
    assert f"{tag} University" in sysadmin.get("/admin/organizations").get_data(as_text=True)

    # a user with a role there, and a generated password shown once, with which they sign in
    username = f"{tag}-newcomer"
    response = post(sysadmin, "/admin/users/new", {"username": username, "display_name": "新人 花子",
                                                   "email": f"{username}@example.jp", "organization_id": org_id,
                                                   "roles": ["researcher"], "locale": "ja", "password": ""})
    assert response.status_code == 200
    password = shown_password(response.get_data(as_text=True))
    user = user_by_name(svc, username)
    assert grants_of(svc, user.id) == {(org_id, "researcher", "organization")}
    assert [e.actor_id for e in events(svc, "user_created") if e.data["id"] == user.id] == [actor_id]
    assert [e.data["role"] for e in events(svc, "role_granted") if e.data["user_id"] == user.id] == ["researcher"]
    newcomer, response = try_sign_in(app, username, password)
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 200
    # the organization's page lists them with their role
    page = sysadmin.get(f"/admin/organizations/{org_id}").get_data(as_text=True)
    assert "新人 花子" in page and "Researcher" in page

    # grant a second role, then revoke it
    response = post(sysadmin, f"/admin/users/{user.id}/grants", {"organization_id": org_id,
                                                                 "role": "security_officer"})
    assert response.status_code == 302
    assert (org_id, "security_officer", "organization") in grants_of(svc, user.id)
    assert "Research security officer" in sysadmin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    with svc.db.reader() as session:
        membership_id = session.scalars(select(Membership.id).where(Membership.user_id == user.id,
                                                                    Membership.role == "security_officer")).one()
    response = post(sysadmin, f"/admin/users/{user.id}/revoke", {"membership_id": membership_id})
    assert response.status_code == 302
    assert grants_of(svc, user.id) == {(org_id, "researcher", "organization")}
    revoked = [e for e in events(svc, "role_revoked") if e.data["user_id"] == user.id]
    assert [(e.actor_id, e.data["role"], e.data["organization_id"]) for e in revoked] == [
        (actor_id, "security_officer", org_id)]

    # a new generated password: the old one stops working, the user's session ends, the new one signs in
    response = post(sysadmin, f"/admin/users/{user.id}/password", {"mode": "generate"})
    assert response.status_code == 200
    new_password = shown_password(response.get_data(as_text=True))
    assert new_password != password
    assert newcomer.get("/").status_code == 302  # signed out
    assert try_sign_in(app, username, password, ELSEWHERE)[1].status_code == 401
    assert try_sign_in(app, username, new_password)[1].status_code == 302
    assert [e.actor_id for e in events(svc, "password_set") if e.data["user_id"] == user.id] == [actor_id]
    # ... or one the administrator chose
    response = post(sysadmin, f"/admin/users/{user.id}/password", {"mode": "set", "password": "Chosen-By-Admin-1"})
    assert response.status_code == 302
    newcomer, response = try_sign_in(app, username, "Chosen-By-Admin-1")
    assert response.status_code == 302

    # deactivated: the session ends and signing in fails; reactivated: it works again
    response = post(sysadmin, f"/admin/users/{user.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 302
    assert try_sign_in(app, username, "Chosen-By-Admin-1", ELSEWHERE)[1].status_code == 401
    assert [e.actor_id for e in events(svc, "user_deactivated") if e.data["user_id"] == user.id] == [actor_id]
    assert "Deactivated" in sysadmin.get(f"/admin/users?q={username}&status=inactive").get_data(as_text=True)
    response = post(sysadmin, f"/admin/users/{user.id}/active", {"active": "1"})
    assert response.status_code == 302
    assert try_sign_in(app, username, "Chosen-By-Admin-1")[1].status_code == 302
    assert [e.actor_id for e in events(svc, "user_reactivated") if e.data["user_id"] == user.id] == [actor_id]


def test_a_lockout_is_lifted(app, svc, world):
    sysadmin = sign_in(app, world, "sysadmin", lang="en")
    user_id = world.users["researcher"]
    with unit_of_work(svc) as session:
        locked = session.get(User, user_id)
        locked.locked_until = clock.now() + timedelta(minutes=10)
    assert try_sign_in(app, world.username("researcher"), PASSWORD)[1].status_code == 429
    assert "Lift the lockout" in sysadmin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    response = post(sysadmin, f"/admin/users/{user_id}/unlock")
    assert response.status_code == 302
    assert try_sign_in(app, world.username("researcher"), PASSWORD)[1].status_code == 302
    cleared = [e for e in events(svc, "lockout_cleared") if e.data["user_id"] == user_id]
    assert [(e.actor_id, e.data["was_locked"]) for e in cleared] == [(world.users["sysadmin"], True)]
    # nothing to lift: no event
    post(sysadmin, f"/admin/users/{user_id}/unlock")
    assert len([e for e in events(svc, "lockout_cleared") if e.data["user_id"] == user_id]) == 1


def test_a_generated_initial_password_or_a_given_one(app, svc, world):
    sysadmin = sign_in(app, world, "sysadmin")
    username = f"{world.tag}-auditor2"
    response = post(sysadmin, "/admin/users/new", {"username": username, "display_name": "監査 次郎",
                                                   "email": f"{username}@example.jp", "organization_id": world.fa_id,
                                                   "roles": ["auditor", "process_designer"], "auditor_scope": "fa",
                                                   "locale": "en", "password": "Given-Password-99"})
    assert response.status_code == 302  # no password to show: straight to the user
    user = user_by_name(svc, username)
    assert response.headers["Location"].endswith(f"/admin/users/{user.id}")
    assert grants_of(svc, user.id) == {(world.fa_id, "auditor", "fa"), (world.fa_id, "process_designer",
                                                                        "organization")}
    assert user.locale == "en"
    assert try_sign_in(app, username, "Given-Password-99")[1].status_code == 302


def test_bad_input_gets_a_clear_message_and_changes_nothing(app, svc, world):
    sysadmin = sign_in(app, world, "sysadmin", lang="en")
    before = system_events(svc)
    users_before = grants_of(svc, world.users["researcher"])

    # a username taken already (in other letter case too)
    taken = world.username("researcher").upper()
    response = post(sysadmin, "/admin/users/new", {"username": taken, "display_name": "x",
                                                   "email": "x@example.jp", "organization_id": world.lead_id,
                                                   "roles": ["researcher"]})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "username") == "This username is taken already"
    assert user_by_name(svc, taken) is None
    # a role the organization's kind cannot hold, when creating and when granting
    fresh = f"{world.tag}-fresh"
    response = post(sysadmin, "/admin/users/new", {"username": fresh, "display_name": "x", "email": "x@example.jp",
                                                   "organization_id": world.lead_id, "roles": ["fa_manager"]})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "roles") == (
        "This role cannot be held in this kind of organization")
    assert user_by_name(svc, fresh) is None
    response = post(sysadmin, f"/admin/users/{world.users['researcher']}/grants",
                    {"organization_id": world.lead_id, "role": "fa_officer"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "role") == (
        "This role cannot be held in this kind of organization")
    # an auditor limited to "their funding agency" outside a funding agency; a role held already
    response = post(sysadmin, f"/admin/users/{world.users['researcher']}/grants",
                    {"organization_id": world.lead_id, "role": "auditor", "scope": "fa"})
    assert response.status_code == 422 and field_error(response.get_data(as_text=True), "scope")
    response = post(sysadmin, f"/admin/users/{world.users['researcher']}/grants",
                    {"organization_id": world.lead_id, "role": "researcher"})
    assert field_error(response.get_data(as_text=True), "role") == (
        "The user holds this role in this organization already")
    assert grants_of(svc, world.users["researcher"]) == users_before
    # a duplicate organization code and name, a missing kind
    response = post(sysadmin, "/admin/organizations/new", {"code": f"{world.tag}-LEAD", "name": f"{world.tag} 大学A",
                                                           "name_en": "", "country": "JP"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "code") == "Another organization has this code already"
    assert field_error(page, "name") == "Another organization has this name already"
    assert field_error(page, "kind") == "Choose the kind of organization"
    # weak passwords, an empty form, an e-mail that is none
    response = post(sysadmin, f"/admin/users/{world.users['researcher']}/password",
                    {"mode": "set", "password": "short"})
    assert response.status_code == 422 and "12 characters" in field_error(response.get_data(as_text=True),
                                                                           "password")
    assert post(sysadmin, f"/admin/users/{world.users['researcher']}/password").status_code == 422
    response = post(sysadmin, "/admin/users/new", {})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert all(field_error(page, f) for f in ("username", "display_name", "email", "organization_id", "roles"))
    # the administrator can neither lock themselves out nor drop their own administrator role
    own = world.users["sysadmin"]
    post(sysadmin, f"/admin/users/{own}/active", {"active": "0"})
    with svc.db.reader() as session:
        own_admin = session.scalars(select(Membership.id).where(Membership.user_id == own,
                                                                Membership.role == "system_admin")).one()
        assert session.get(User, own).active
    response = post(sysadmin, f"/admin/users/{own}/revoke", {"membership_id": own_admin})
    assert "cannot revoke your own" in sysadmin.get(response.headers["Location"]).get_data(as_text=True)
    # a grant of another user cannot be revoked through this user's page
    post(sysadmin, f"/admin/users/{world.users['researcher']}/revoke", {"membership_id": own_admin})
    assert (world.fa_id, "system_admin", "organization") in grants_of(svc, own)
    assert grants_of(svc, world.users["researcher"]) == users_before
    assert sysadmin.get("/admin/users/999999999").status_code == 404
    assert system_events(svc) == before  # nothing was recorded: nothing changed


def test_messages_in_japanese(app, world):
    sysadmin = sign_in(app, world, "sysadmin", lang="ja")
    response = post(sysadmin, f"/admin/users/{world.users['researcher']}/grants",
                    {"organization_id": world.lead_id, "role": "ministry_officer"})
    assert field_error(response.get_data(as_text=True), "role") == "この種類の組織ではこの役割を持てません"
    page = sysadmin.get("/admin/users").get_data(as_text=True)
    assert "ユーザー" in page and "システム管理" in page


def test_users_are_searched_and_paged(app, svc, world):
    with unit_of_work(svc) as session:
        for n in range(30):
            admin.ensure_user(session, SYSTEM, username=f"{world.tag}-many{n:02d}", display_name=f"Many {n}",
                              email=f"{world.tag}.many{n:02d}@example.jp", password=None)
    sysadmin = sign_in(app, world, "sysadmin", lang="en")
    first = sysadmin.get(f"/admin/users?q={world.tag}-many").get_data(as_text=True)
    assert "30 user(s)" in first and f"{world.tag}-many00" in first and f"{world.tag}-many29" not in first
    second = sysadmin.get(f"/admin/users?q={world.tag}-many&page=2").get_data(as_text=True)
    assert f"{world.tag}-many29" in second and f"{world.tag}-many00" not in second
    # by e-mail and by organization
    assert "1 user(s)" in sysadmin.get(f"/admin/users?q={world.tag}.many07@EXAMPLE").get_data(as_text=True)
    in_ministry = sysadmin.get(f"/admin/users?organization_id={world.ministry_id}").get_data(as_text=True)
    assert world.username("ministry") in in_ministry and world.username("researcher") not in in_ministry


def _admin_routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            found += [(method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_other_role_finds_no_admin_page(app, svc, world):
    routes = _admin_routes(app)
    assert len(routes) >= 12
    before = system_events(svc)
    for who in PEOPLE:
        if who == "sysadmin":
            continue
        client = sign_in(app, world, who)
        for method, rule in routes:
            path = rule.replace("<int:user_id>", str(world.users["researcher"])).replace(
                "<int:organization_id>", str(world.lead_id))
            data = {"csrf_token": client.csrf, "active": "0", "mode": "generate", "membership_id": "1",
                    "organization_id": str(world.lead_id), "role": "system_admin", "username": f"{who}-x",
                    "display_name": "x", "email": "x@example.jp", "roles": "system_admin", "code": f"{who}-x",
                    "name": f"{who}-x", "kind": "institution"}
            response = client.open(path, method=method, data=data if method == "POST" else None)
            assert response.status_code == 404, (who, method, path, response.status_code)
        assert "/admin/" not in client.get("/").get_data(as_text=True)  # no link in the header either
    assert system_events(svc) == before
    assert user_by_name(svc, "researcher-x") is None


def test_anonymous_visitors_are_sent_to_sign_in(app, world):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    for method, rule in _admin_routes(app):
        path = rule.replace("<int:user_id>", "1").replace("<int:organization_id>", "1")
        response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, path)


def test_the_use_cases_refuse_everyone_but_administrators(svc, world):
    for who in ("admin", "security", "designer", "auditor", "fa_manager"):
        actor = world.actor(who)
        with pytest.raises(Forbidden), unit_of_work(svc) as session:
            admin.create_user_with_roles(session, actor, username=f"{world.tag}-{who}-made", display_name="x",
                                         email="x@example.jp", organization_id=world.lead_id, roles=["researcher"])
        with pytest.raises(Forbidden), unit_of_work(svc) as session:
            admin.set_active(session, actor, user_id=world.users["researcher"], active=False)
        with pytest.raises(Forbidden), unit_of_work(svc) as session:
            admin.reset_password(session, actor, user_id=world.users["researcher"])
        with pytest.raises(Forbidden), svc.db.reader() as session:
            admin.list_users(session, actor)
    assert user_by_name(svc, f"{world.tag}-admin-made") is None
    # an administrator's own actor may
    with unit_of_work(svc) as session:
        made, generated = admin.create_user_with_roles(
            session, world.actor("sysadmin"), username=f"{world.tag}-made", display_name="x", email="x@example.jp",
            organization_id=world.lead_id, roles=["researcher"])
        assert generated and made.id
