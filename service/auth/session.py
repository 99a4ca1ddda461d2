"""Who is signed in for this request: a server-side session named by the cookie (pages, and API calls from the
browser) or a bearer token (API clients).

An API request that sends `Authorization: Bearer …` is authenticated by that token alone: the session cookie
is then not looked at, so a bearer header never stands in for a cookie session (whose writes need the CSRF
token, service/app.py) and an unknown token is a 401 even with a valid cookie. Pages ignore bearer headers.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from flask import current_app, g, request
from flask import session as cookie
from flask_login import LoginManager, UserMixin
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import selectinload

from .. import clock
from ..models import Membership, User, UserSession
from . import sessions, tokens
from .actor import Actor


class SignedIn(UserMixin):
    """The Flask-Login user: the actor plus how they authenticated."""

    def __init__(self, actor: Actor, *, email: str, via: str = "session", session_key: str | None = None,
                 scopes: tuple[str, ...] = ("read", "write")):
        self.actor = actor
        self.user_id = actor.user_id
        self.username = actor.username
        self.display_name = actor.display_name
        self.email = email
        self.locale = actor.locale
        self.via = via
        self.session_key = session_key
        self.scopes = scopes

    @classmethod
    def from_user(cls, user: User, session_key: str) -> SignedIn:
        return cls(Actor.from_user(user), email=user.email, session_key=session_key)

    def get_id(self) -> str:
        # what the cookie holds: the key of the server-side session, not the user id
        return sessions.KEY_PREFIX + (self.session_key or "")


login_manager = LoginManager()
login_manager.login_view = "web.login"
# Flask-Login's own check would only mark permanent sessions "not fresh"; tejun binds each session to its
# address and browser itself (service.auth.sessions), and ends it when either changes
login_manager.session_protection = None


def _read_session():
    session = g.get("tejun_read_session")
    if session is None:
        session = g.tejun_read_session = current_app.extensions["tejun"].db.readers()
    return session


def request_fingerprint() -> str:
    return sessions.fingerprint(request.remote_addr, request.headers.get("User-Agent"))


def _forget_cookie_login() -> None:
    for key in ("_user_id", "_fresh", "_id"):
        cookie.pop(key, None)


@login_manager.user_loader
def load_user(identity: str):
    if bearer_request() or not identity.startswith(sessions.KEY_PREFIX):
        return None
    key = identity[len(sessions.KEY_PREFIX):]
    svc = current_app.extensions["tejun"]
    # one indexed lookup for session and user (and one for the memberships)
    found = _read_session().execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.key_hash == sessions.digest(key), UserSession.ended_at.is_(None),
               User.active.is_(True))
        .options(selectinload(User.memberships).joinedload(Membership.organization))
    ).first()
    if found is None:
        _forget_cookie_login()
        return None
    user, row = found
    now = clock.now()
    settings = svc.settings
    reason = sessions.why_over(row, idle=timedelta(minutes=settings.session_idle_minutes),
                               lifetime=timedelta(hours=settings.session_lifetime_hours),
                               seen_from=request_fingerprint(), now=now)
    if reason is not None:
        with svc.db.transaction() as session:
            sessions.end_by_id(session, row.id, reason)
        _forget_cookie_login()
        return None
    if sessions.needs_touch(row, now):
        with svc.db.transaction() as session:
            sessions.touch(session, row.id)
    return SignedIn.from_user(user, key)


@login_manager.request_loader
def load_from_bearer(req):
    if not bearer_request():
        return None
    # one read query for token, user and memberships; a write only when last_used_at is due (tokens.touch)
    bearer = tokens.lookup(_read_session(), req.headers["Authorization"][7:].strip())
    if bearer is None:
        return None
    if tokens.needs_touch(bearer.last_used_at):
        with current_app.extensions["tejun"].db.transaction() as session:
            tokens.touch(session, bearer.token_id)
    return SignedIn(bearer.actor, email=bearer.email, via="token", scopes=bearer.scopes)


def close_read_session(_exc=None) -> None:
    session = g.pop("tejun_read_session", None)
    if session is not None:
        try:
            session.close()
        except (OperationalError, InterfaceError):
            # the connection died under the request (PostgreSQL restarting): nothing to roll back any more, and
            # the answer is already made; a failing teardown would turn it into a bare 500
            with contextlib.suppress(Exception):
                session.invalidate()


def bearer_request() -> bool:
    """An API call that presents a bearer token (which then alone decides who is calling)."""
    return request.path.startswith("/api/") and request.headers.get("Authorization", "").lower().startswith(
        "bearer ")


def authenticated_by_cookie() -> bool:
    """Signed in through the session cookie (so writes need the CSRF token), not by a bearer token."""
    from flask_login import current_user

    return bool(current_user.is_authenticated and current_user.via != "token")
