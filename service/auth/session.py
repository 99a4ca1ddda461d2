"""Who is signed in for this request: a session cookie (pages) or a bearer token (API clients)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import LoginManager, UserMixin
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import Membership, User
from . import tokens
from .actor import Actor


class SignedIn(UserMixin):
    """The Flask-Login user: the actor plus how they authenticated."""

    def __init__(self, actor: Actor, *, email: str, generation: int, via: str = "session",
                 scopes: tuple[str, ...] = ("read", "write")):
        self.actor = actor
        self.user_id = actor.user_id
        self.username = actor.username
        self.display_name = actor.display_name
        self.email = email
        self.locale = actor.locale
        self.generation = generation
        self.via = via
        self.scopes = scopes

    @classmethod
    def from_user(cls, user: User) -> SignedIn:
        return cls(Actor.from_user(user), email=user.email, generation=user.session_generation)

    def get_id(self) -> str:
        # a password change bumps the generation, which signs out every other session
        return f"{self.user_id}:{self.generation}"


login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.session_protection = "strong"


def _read_session():
    session = g.get("tejun_read_session")
    if session is None:
        session = g.tejun_read_session = current_app.extensions["tejun"].db.sessions()
    return session


def _load(user_id: int) -> User | None:
    return _read_session().scalars(
        select(User)
        .where(User.id == user_id, User.active.is_(True))
        .options(selectinload(User.memberships).joinedload(Membership.organization))
    ).first()


@login_manager.user_loader
def load_user(identity: str):
    try:
        user_id, generation = (int(part) for part in identity.split(":", 1))
    except ValueError:
        return None
    user = _load(user_id)
    if user is None or user.session_generation != generation:
        return None
    return SignedIn.from_user(user)


@login_manager.request_loader
def load_from_bearer(req):
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    # one read query for token, user and memberships; a write only when last_used_at is due (tokens.touch)
    bearer = tokens.lookup(_read_session(), header[7:].strip())
    if bearer is None:
        return None
    if tokens.needs_touch(bearer.last_used_at):
        with current_app.extensions["tejun"].db.transaction() as session:
            tokens.touch(session, bearer.token_id)
    return SignedIn(bearer.actor, email=bearer.email, generation=bearer.session_generation, via="token",
                    scopes=bearer.scopes)


def close_read_session(_exc=None) -> None:
    session = g.pop("tejun_read_session", None)
    if session is not None:
        session.close()


def bearer_request() -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")
