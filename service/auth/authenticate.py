"""Signing in with a password: argon2id verification, lockout after repeated failures, audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from .. import clock
from ..errors import N_, Conflict, TooManyAttempts, Unauthorized
from ..eventlog import chain
from ..models import User
from ..services import Services
from ..unit_of_work import unit_of_work
from . import throttle
from .passwords import hash_password, needs_rehash, verify_password

WRONG = N_("wrong username or password")


def authenticate(svc: Services, username: str, password: str, remote_addr: str | None = None) -> int:
    """Check a password; returns the user id. Failures are counted per account and lock it for a while."""
    for attempt in range(3):
        try:
            return _authenticate(svc, username, password, remote_addr)
        except Conflict:
            # two sign-ins of the same account recorded at the same instant: record again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _authenticate(svc: Services, username: str, password: str, remote_addr: str | None) -> int:
    username = (username or "").strip()
    now = clock.now()
    outcome: Exception | None = None
    user_id = None
    settings = svc.settings
    with unit_of_work(svc) as session:
        wait = throttle.blocked_for(session, remote_addr, settings.login_ip_max_failures,
                                    settings.login_ip_window_seconds)
        if wait:
            raise TooManyAttempts(N_("too many failed sign-ins from your network: try again in %(minutes)s min"),
                                  params={"minutes": wait // 60 + 1})
        user = session.scalars(select(User).where(func.lower(User.username) == username.lower())).first()
        # The same work on every path, so that neither the time nor the answer tells existing names from
        # unknown ones: one argon2 verification always (unknown names against a dummy hash, locked accounts
        # too), and unknown names are counted and locked like accounts (throttle.name_locked_until).
        correct = verify_password(user.password_hash if user else None, password or "")
        locked_until = user.locked_until if user is not None else throttle.name_locked_until(session, username)
        if locked_until is not None and locked_until > now:
            outcome = TooManyAttempts(N_("too many failed sign-ins: this account is locked for a while"))
        elif not correct or not user.active:
            outcome = Unauthorized(WRONG)
            throttle.record_failure(session, remote_addr, settings.login_ip_window_seconds)
            if user is not None:
                user.failed_logins += 1
                if user.failed_logins >= settings.login_max_failures:
                    user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
                    user.failed_logins = 0
            else:
                throttle.record_name_failure(session, username, settings.login_max_failures,
                                             settings.login_lockout_seconds)
        else:
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user_id = user.id
        chain.append(
            session,
            stream=f"user:{user.id}" if user else "auth",
            action="login" if outcome is None else "login_failed",
            actor_id=user.id if user else None,
            actor_name=user.username if user else username[:150] or "?",
            data={"remote_addr": remote_addr, "reason": None if outcome is None else outcome.detail},
        )
    if outcome is not None:
        raise outcome
    return user_id
