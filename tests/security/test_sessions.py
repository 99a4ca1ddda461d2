"""Sessions and credentials that really end (issue 14, points 3, 4 and 8).

A session is a row on the server (`user_sessions`); the signed cookie only names it. Signing out, a password
reset and a deactivation end it there, so a copy of the cookie taken before is worth nothing afterwards. API
tokens are revoked for good by a reset or a deactivation. The smaller points: CSRF with a cookie and a bogus
bearer header, empty token scopes, the lockout path for unknown names, and the limits on minting tokens.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from service.auth import admin, tokens
from service.errors import TooManyAttempts, Unauthorized
from service.models import ApiToken, User
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD
from tests.web.helpers import post, sign_in, token_for

PROBLEM = "application/problem+json"


def copy_of(app, client, remote_addr: str | None = None):
    """Another client holding the same session cookie (what a thief would hold)."""
    thief = app.test_client()
    if remote_addr:
        thief.environ_base["REMOTE_ADDR"] = remote_addr
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _admin(svc, world, **kwargs):
    with unit_of_work(svc) as session:
        return kwargs.pop("do")(session, world.actor("sysadmin"), **kwargs)


# -- point 3: signing out ends the session on the server ------------------------------------------------------


def test_a_copied_cookie_is_refused_after_sign_out(app, world):
    client = sign_in(app, world, "security")
    thief = copy_of(app, client)
    assert signed_in(thief)
    assert post(client, "/logout").status_code == 302
    assert not signed_in(client)
    assert not signed_in(thief)
    # the API refuses it too, and a cookie from before sign-out cannot be revived by signing in again
    assert thief.get("/api/v1/tasks").status_code == 401
    again = sign_in(app, world, "security")
    assert signed_in(again) and not signed_in(thief)


def test_a_copied_cookie_is_refused_after_a_password_reset(svc, app, world):
    client = sign_in(app, world, "researcher")
    thief = copy_of(app, client)
    assert signed_in(thief)
    _admin(svc, world, do=admin.reset_password, user_id=world.users["researcher"])
    assert not signed_in(thief)
    assert not signed_in(client)


def test_a_copied_cookie_is_refused_after_deactivation_and_stays_refused(svc, app, world):
    client = sign_in(app, world, "researcher")
    thief = copy_of(app, client)
    _admin(svc, world, do=admin.set_active, user_id=world.users["researcher"], active=False)
    assert not signed_in(thief)
    _admin(svc, world, do=admin.set_active, user_id=world.users["researcher"], active=True)
    assert not signed_in(thief) and not signed_in(client)
    assert signed_in(sign_in(app, world, "researcher"))


def test_strong_protection_ends_a_session_used_from_another_browser_or_address(app, world):
    client = sign_in(app, world, "security")
    elsewhere = copy_of(app, client, remote_addr="203.0.113.99")
    assert not signed_in(elsewhere)
    # the session is ended on the server, not only refused to the copy: the owner signs in again
    assert not signed_in(client)

    client = sign_in(app, world, "security")
    other_browser = copy_of(app, client)
    assert other_browser.get("/", headers={"User-Agent": "curl/8.0"}).status_code == 302
    assert not signed_in(client)


def test_sessions_end_when_idle_and_after_their_lifetime(svc, app, world, travel):
    settings = svc.settings
    client = sign_in(app, world, "security")
    travel.advance(minutes=settings.session_idle_minutes - 1)
    assert signed_in(client)
    travel.advance(minutes=settings.session_idle_minutes + 1)
    assert not signed_in(client)

    client = sign_in(app, world, "security")
    for _ in range(settings.session_lifetime_hours * 2 - 1):
        travel.advance(minutes=30)
        assert signed_in(client)
    travel.advance(minutes=31)
    assert not signed_in(client)


def test_sign_in_sign_out_and_ends_are_recorded_per_session(svc, app, world):
    from service.models import UserSession

    def reasons() -> list:
        with svc.db.reader() as session:
            rows = session.scalars(select(UserSession).where(UserSession.user_id == world.users["security2"])
                                   .order_by(UserSession.id)).all()
            assert all(r.user_agent and r.remote_addr and r.method == "password" for r in rows)
            return [r.ended_reason for r in rows]

    first = sign_in(app, world, "security2")
    second = sign_in(app, world, "security2")
    post(first, "/logout")
    assert signed_in(second)
    assert reasons() == ["signed_out", None]
    # signing in again in the same browser ends the session it held
    thief = copy_of(app, second)
    sign_in_again = second.post("/login", data={"username": world.username("security2"), "password": PASSWORD,
                                                "csrf_token": second.csrf})
    assert sign_in_again.status_code == 302
    assert signed_in(second) and not signed_in(thief)
    assert reasons() == ["signed_out", "replaced", None]
    _admin(svc, world, do=admin.reset_password, user_id=world.users["security2"])
    assert reasons() == ["signed_out", "replaced", "password_reset"]


# -- point 4: a reset or deactivation revokes every token for good --------------------------------------------


def test_a_password_reset_revokes_every_api_token(svc, client, world):
    headers = token_for(client, world.username("security"))
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    _admin(svc, world, do=admin.reset_password, user_id=world.users["security"])
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    with svc.db.reader() as session:
        revoked = session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == world.users["security"]))
        assert all(at is not None for at in revoked)


def test_a_reactivated_account_does_not_get_its_old_tokens_back(svc, client, world):
    headers = token_for(client, world.username("researcher"))
    _admin(svc, world, do=admin.set_active, user_id=world.users["researcher"], active=False)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    _admin(svc, world, do=admin.set_active, user_id=world.users["researcher"], active=True)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert client.get("/api/v1/tasks", headers=token_for(client, world.username("researcher"))).status_code == 200


# -- point 8: CSRF, scopes, lockout, minting ------------------------------------------------------------------


def test_a_bogus_bearer_header_does_not_skip_csrf_for_a_cookie_session(app, world):
    browser = sign_in(app, world, "security")
    body = {"call_id": world.call_id, "lead_institution_id": world.lead_id, "title": ""}
    bogus = {"Authorization": "Bearer tj_not-a-token"}
    # without the bearer header: the CSRF token is needed
    assert browser.post("/api/v1/cases", json=body).status_code == 400
    # with a bearer header that authenticates nobody, the cookie does not stand in for it
    response = browser.post("/api/v1/cases", json=body, headers=bogus)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    response = browser.post("/api/v1/cases", json=body, headers={**bogus, "X-CSRFToken": browser.csrf})
    assert response.status_code == 401
    # a real token authenticates the request by itself: its owner, not the cookie's
    headers = token_for(app.test_client(), world.username("fa_officer"))
    mine = browser.get("/api/v1/auth/tokens", headers=headers).get_json()
    with app.extensions["tejun"].db.reader() as session:
        owners = {session.get(ApiToken, t["id"]).user_id for t in mine}
    assert owners == {world.users["fa_officer"]}


def test_an_empty_scope_list_is_refused(client, world):
    response = client.post("/api/v1/auth/token",
                           json={"username": world.username("security"), "password": PASSWORD, "scopes": []})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "/scopes" in {e["pointer"] for e in response.get_json()["errors"]}
    with pytest.raises(ValueError), unit_of_work(client.application.extensions["tejun"]) as session:
        tokens.issue(session, session.get(User, world.users["security"]), "x", [])


def test_locked_and_unknown_names_cost_the_same_and_answer_the_same(svc, world, monkeypatch):
    """User enumeration: a locked account still verifies a hash, and an unknown name locks like a real one."""
    from service.auth import authenticate as module

    calls = []
    real = module.verify_password

    def counting(stored, password):
        calls.append(stored is not None)
        return real(stored, password)

    monkeypatch.setattr(module, "verify_password", counting)
    address = "192.0.2.14"

    def attempts(name: str) -> list[str]:
        outcomes = []
        for _ in range(svc.settings.login_max_failures + 2):
            before = len(calls)
            with pytest.raises((Unauthorized, TooManyAttempts)) as failed:
                module.authenticate(svc, name, "Wrong-password-1", address)
            assert len(calls) == before + 1  # one argon2 verification on every path
            outcomes.append(f"{failed.value.status} {failed.value.detail}")
        return outcomes

    known = attempts(world.username("researcher2"))
    unknown = attempts(f"{world.tag}-nobody")
    assert known == unknown
    assert known[-1].startswith("429")
    # the right password is refused (after a verification) while locked
    before = len(calls)
    with pytest.raises(TooManyAttempts):
        module.authenticate(svc, world.username("researcher2"), PASSWORD, address)
    assert len(calls) == before + 1


def test_tokens_cannot_be_minted_without_limit(svc, client, world, monkeypatch):
    monkeypatch.setattr(svc, "settings", replace(svc.settings, api_token_max_active=3, api_token_max_per_hour=5))
    name = world.username("fa_officer")
    minted = [token_for(client, name) for _ in range(3)]
    response = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    # revoking one makes room; the hourly limit then stops the next ones
    mine = client.get("/api/v1/auth/tokens", headers=minted[0]).get_json()  # newest first
    assert client.delete(f"/api/v1/auth/tokens/{mine[0]['id']}", headers=minted[0]).status_code == 204
    minted.append(token_for(client, name))
    assert client.delete(f"/api/v1/auth/tokens/{mine[1]['id']}", headers=minted[0]).status_code == 204
    minted.append(token_for(client, name))  # the fifth within the hour
    assert client.delete(f"/api/v1/auth/tokens/{mine[2]['id']}", headers=minted[-1]).status_code == 204
    response = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert response.status_code == 429 and response.mimetype == PROBLEM
