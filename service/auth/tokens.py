"""API tokens: random, shown once, stored as SHA-256, scoped ("read", "write"), expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..errors import N_, NotFound, TooManyAttempts, ValidationFailed
from ..eventlog import chain
from ..models import ApiToken, Membership, Organization, User
from ..unit_of_work import unit_of_work
from .actor import Actor

SCOPES = ("read", "write")
PREFIX = "tj_"
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def issue(
    session: Session, user: User, name: str, scopes: list[str] | None = None, lifetime: timedelta | None = None
) -> tuple[str, ApiToken]:
    """A new token for `user`; `scopes` None means read and write, an empty list is refused (a token that may
    do nothing is a mistake, and reading it as "everything" was one). Limits on how many: `check_quota`."""
    if scopes is not None and not scopes:
        raise ValueError("a token needs at least one scope")
    scopes = sorted(set(scopes or ["read", "write"]))
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    lifetime = min(lifetime or DEFAULT_LIFETIME, MAX_LIFETIME)
    plain = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        user_id=user.id, name=name[:100] or "token", token_hash=_digest(plain), scopes=scopes,
        created_at=now, expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    chain.append(session, stream=chain.user_stream(user.id), action="api_token_issued", actor_id=user.id,
                 actor_name=user.username, data={"token_id": token.id, "name": token.name, "scopes": scopes,
                                                 "expires_at": token.expires_at.isoformat()})
    return plain, token


# how stale `last_used_at` may get before a request writes it again (most requests only read)
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Bearer:
    """A valid token as a request needs it: its owner as an actor, nothing loaded into a session."""

    token_id: int
    scopes: tuple[str, ...]
    last_used_at: datetime | None
    actor: Actor
    email: str


_tokens, _users = ApiToken.__table__, User.__table__
_members, _orgs = Membership.__table__, Organization.__table__
# One round trip, Core rows rather than ORM objects: every API request runs it, and loading the token, user,
# memberships and organizations as entities with joined eager loads cost more CPU than the rest of a
# queue request.
_LOOKUP = (
    select(
        _tokens.c.id, _tokens.c.scopes, _tokens.c.expires_at, _tokens.c.revoked_at, _tokens.c.last_used_at,
        _users.c.id.label("user_id"), _users.c.username, _users.c.display_name, _users.c.email, _users.c.locale,
        _users.c.active,
        _members.c.organization_id, _members.c.role, _members.c.scope,
        _orgs.c.kind.label("organization_kind"), _orgs.c.active.label("organization_active"),
    )
    .select_from(
        _tokens.join(_users, _users.c.id == _tokens.c.user_id)
        .outerjoin(_members, _members.c.user_id == _users.c.id)
        .outerjoin(_orgs, _orgs.c.id == _members.c.organization_id)
    )
    .where(_tokens.c.token_hash == bindparam("digest"))
    .order_by(_members.c.id)
)


def lookup(session: Session, plain: str) -> Bearer | None:
    """The token and its owner for a presented bearer token, in one query; None when unknown, expired, revoked
    or the owner is inactive. Memberships in inactive organizations grant nothing. Writes nothing: see
    `touch`."""
    if not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    rows = session.execute(_LOOKUP, {"digest": _digest(plain)}).all()
    if not rows:
        return None
    first = rows[0]
    now = clock.now()
    if first.revoked_at is not None or (first.expires_at and first.expires_at <= now) or not first.active:
        return None
    actor = Actor.of(first.user_id, first.username, first.display_name, first.locale,
                     ((r.organization_id, r.organization_kind, r.role, r.scope, r.organization_active)
                      for r in rows if r.organization_id is not None))
    return Bearer(first.id, tuple(first.scopes or ()), first.last_used_at, actor, first.email)


def needs_touch(last_used_at: datetime | None) -> bool:
    return last_used_at is None or clock.now() - last_used_at > TOUCH_EVERY


def touch(session: Session, token_id: int) -> None:
    """Record that a token was used (at most every TOUCH_EVERY, so requests stay read-only in between)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()))


def revoke(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        owner = token.user
        chain.append(session, stream=chain.user_stream(owner.id), action="api_token_revoked", actor_id=owner.id,
                     actor_name=owner.username, data={"token_id": token.id, "name": token.name})


def revoke_all(session: Session, user: User, *, reason: str, actor_id: int | None, actor_name: str) -> int:
    """Revoke every token of a user that is not revoked yet (password reset, deactivation): for good, so a
    reactivated account starts without tokens. One audit event on the user's stream; returns how many."""
    now = clock.now()
    ids = list(session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                         ApiToken.revoked_at.is_(None))))
    if not ids:
        return 0
    session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=now))
    chain.append(session, stream=chain.user_stream(user.id), action="api_tokens_revoked", actor_id=actor_id,
                 actor_name=actor_name, data={"user_id": user.id, "token_ids": ids, "reason": reason})
    return len(ids)


class QuotaExceeded(Exception):
    """Too many tokens: `active` when the user holds the most allowed, else issued too many within the hour."""

    def __init__(self, kind: str, limit: int):
        super().__init__(kind)
        self.kind, self.limit = kind, limit


def check_quota(session: Session, user_id: int, *, max_active: int, max_per_hour: int) -> None:
    """Refuse one more token when the user holds `max_active` valid ones or was issued `max_per_hour` within
    the last hour (revoked ones count there too)."""
    now = clock.now()
    active = session.scalar(
        select(func.count()).select_from(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    ) or 0
    if active >= max_active:
        raise QuotaExceeded("active", max_active)
    recent = session.scalar(
        select(func.count()).select_from(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.created_at > now - timedelta(hours=1))
    ) or 0
    if recent >= max_per_hour:
        raise QuotaExceeded("rate", max_per_hour)




# -- use cases (each opens its own transaction) ----------------------------------------------------------------
@dataclass(frozen=True)
class Issued:
    """A token just issued: its value (shown once) and what the client is told about it."""

    plain: str
    expires_at: datetime
    scopes: list[str]


def issue_for(svc, user_id: int, name: str, scopes: list[str] | None, lifetime: timedelta) -> Issued:
    """A signed-in user's new token within their quota: 422 when they hold the most valid ones allowed, 429
    when too many were issued within the hour."""
    settings = svc.settings
    with unit_of_work(svc) as session:
        try:
            check_quota(session, user_id, max_active=settings.api_token_max_active,
                        max_per_hour=settings.api_token_max_per_hour)
        except QuotaExceeded as exc:
            if exc.kind == "active":
                raise ValidationFailed([{"pointer": "", "message": N_(
                    "you hold the most valid tokens allowed already: revoke one first")}]) from None
            raise TooManyAttempts(N_("too many tokens issued within the hour: try again later")) from None
        plain, token = issue(session, session.get(User, user_id), name, scopes, lifetime)
        return Issued(plain, token.expires_at, list(token.scopes))


def own_tokens(svc, actor: Actor) -> list[ApiToken]:
    """The actor's own tokens, newest first."""
    with svc.db.reader() as session:
        return list(session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc())))


def revoke_own(svc, actor: Actor, token_id: int) -> None:
    """Revoke one of the actor's own tokens (404 for anyone else's)."""
    with unit_of_work(svc) as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != actor.user_id:
            raise NotFound("no such token of yours")
        revoke(session, token)
