"""Single sign-on through OpenID Connect, against a real provider running inside the test process."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey
from sqlalchemy import select

from service.app import create_app
from service.models import Membership, User, UserIdentity
from tests.security.oidc_provider import Provider


@pytest.fixture
def provider():
    with Provider() as running:
        yield running


@pytest.fixture
def sso_app(settings, provider):
    configured = dataclasses.replace(settings, oidc={
        "issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret,
    })
    app = create_app(configured)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["tejun"].db.dispose()


def _sign_in(app, provider):
    client = app.test_client()
    start = client.get("/login/sso")
    assert start.status_code == 302 and start.location.startswith(provider.issuer + "/authorize")
    back = requests.get(start.location, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    parts = urlsplit(back.headers["Location"])
    finish = client.get(f"{parts.path}?{parts.query}")
    return client, finish


def _memberships(app, username):
    with app.extensions["tejun"].db.reader() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        held = session.scalars(select(Membership).where(Membership.user_id == user.id))
        roles = {(m.organization_id, m.role) for m in held}
        return user, roles


def test_sso_creates_the_user_with_the_claimed_organization_and_roles(sso_app, provider, world):
    provider.person = {"sub": f"{world.tag}-u1", "preferred_username": f"{world.tag}.taro", "name": "山田 太郎",
                       "email": "taro@example.ac.jp", "tejun_org": f"{world.tag}-lead",
                       "tejun_roles": ["security_officer", "fa_manager"]}
    client, finish = _sign_in(sso_app, provider)
    assert finish.status_code == 302 and finish.location.endswith("/")
    assert client.get("/").status_code == 200
    user, roles = _memberships(sso_app, f"{world.tag}.taro")
    # fa_manager cannot be held in an institution: only the valid role is granted
    assert roles == {(world.lead_id, "security_officer")}
    assert user.password_hash is None and user.display_name == "山田 太郎"

    # at the next sign-in the provider no longer grants the role: tejun takes it away
    provider.person = {**provider.person, "tejun_roles": "institution_admin"}
    _sign_in(sso_app, provider)
    _user, roles = _memberships(sso_app, f"{world.tag}.taro")
    assert roles == {(world.lead_id, "institution_admin")}
    with sso_app.extensions["tejun"].db.reader() as session:
        assert session.scalars(select(UserIdentity).where(UserIdentity.subject == f"{world.tag}-u1")).one()


def test_sso_never_takes_over_a_local_account_by_name(sso_app, provider, world):
    local = world.username("security")
    provider.person = {"sub": f"{world.tag}-u2", "preferred_username": local,
                       "tejun_org": f"{world.tag}-lead", "tejun_roles": "researcher"}
    client, finish = _sign_in(sso_app, provider)
    assert finish.status_code == 302
    _user, roles = _memberships(sso_app, f"{local}@{world.tag}-lead")
    assert roles == {(world.lead_id, "researcher")}
    _user, local_roles = _memberships(sso_app, local)
    assert (world.lead_id, "researcher") not in local_roles


def test_unknown_organizations_and_forged_tokens_are_refused(sso_app, provider, world):
    provider.person = {"sub": f"{world.tag}-u3", "tejun_org": "no-such-org", "tejun_roles": "researcher"}
    client, finish = _sign_in(sso_app, provider)
    assert finish.status_code == 302 and finish.location.endswith("/login")
    assert client.get("/").status_code == 302  # not signed in

    provider.person = {"sub": f"{world.tag}-u4", "tejun_org": f"{world.tag}-lead", "tejun_roles": "researcher"}
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    client, finish = _sign_in(sso_app, provider)
    assert finish.location.endswith("/login")
    assert client.get("/").status_code == 302
    with sso_app.extensions["tejun"].db.reader() as session:
        assert session.scalars(select(UserIdentity).where(UserIdentity.subject == f"{world.tag}-u4")).first() is None
