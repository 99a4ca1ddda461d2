"""Password sign-in hardening: argon2id hashes, account lockout, per-address throttling, session rotation."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from service.errors import TooManyAttempts, Unauthorized
from service.models import User
from tests.conftest import PASSWORD


def test_passwords_are_stored_as_argon2id(svc, world):
    with svc.db.reader() as session:
        stored = session.get(User, world.users["security"]).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_repeated_failures_lock_the_account_for_a_while(svc, world, travel):
    import pytest

    from service.auth.authenticate import authenticate

    name = world.username("researcher")
    for _ in range(svc.settings.login_max_failures):
        with pytest.raises(Unauthorized):
            authenticate(svc, name, "wrong", "198.51.100.1")
    # even the right password is refused while locked
    with pytest.raises(TooManyAttempts):
        authenticate(svc, name, PASSWORD, "198.51.100.1")
    travel.advance(seconds=svc.settings.login_lockout_seconds + 1)
    assert authenticate(svc, name, PASSWORD, "198.51.100.1") == world.users["researcher"]


def test_one_address_trying_many_accounts_is_throttled(svc, world, travel):
    import pytest

    from service.auth.authenticate import authenticate

    address = f"203.0.113.{world.users['security'] % 200}"
    for n in range(svc.settings.login_ip_max_failures):
        with pytest.raises(Unauthorized):
            authenticate(svc, f"{world.tag}-nobody-{n}", "guess", address)
    with pytest.raises(TooManyAttempts, match="network"):
        authenticate(svc, world.username("security"), PASSWORD, address)
    # other addresses are unaffected, and the window passes
    assert authenticate(svc, world.username("security"), PASSWORD, "192.0.2.200")
    travel.advance(seconds=svc.settings.login_ip_window_seconds + 1)
    assert authenticate(svc, world.username("security"), PASSWORD, address)


def test_signing_in_rotates_the_session_and_sets_safe_cookies(app, world):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    before = client.get_cookie("session")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": world.username("security"), "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # the session ends after 12 hours even when the browser stays open
    expires = re.search(r"Expires=([^;]+)", cookie)
    assert expires, cookie
    lifetime = parsedate_to_datetime(expires.group(1)).timestamp() - time.time()
    assert 11.9 * 3600 < lifetime <= 12 * 3600 + 5
    after = client.get_cookie("session")
    assert before is None or before.value != after.value
    # a password change signs out existing sessions
    from service.auth.actor import SYSTEM
    from service.auth.admin import set_password
    from service.unit_of_work import unit_of_work

    assert client.get("/").status_code == 200
    with unit_of_work(app.extensions["tejun"]) as session:
        user = session.scalars(select(User).where(User.id == world.users["security"])).one()
        set_password(session, SYSTEM, user, "Another-Passw0rd-9")
    assert client.get("/").status_code == 302
