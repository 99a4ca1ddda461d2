"""API tokens: random, shown once, stored as SHA-256, scoped ("read", "write"), expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from .. import clock
from ..audit import chain
from ..models import ApiToken, Membership, User

SCOPES = ("read", "write")
PREFIX = "tj_"
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def issue(
    session: Session, user: User, name: str, scopes: list[str] | None = None, lifetime: timedelta | None = None
) -> tuple[str, ApiToken]:
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


def lookup(session: Session, plain: str) -> tuple[User, ApiToken] | None:
    """The user (with their memberships) and token for a presented bearer token, in one query; None when
    unknown, expired, revoked or inactive. Writes nothing: see `touch`."""
    if not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    token = session.scalars(
        select(ApiToken)
        .where(ApiToken.token_hash == _digest(plain))
        .options(joinedload(ApiToken.user).joinedload(User.memberships).joinedload(Membership.organization))
    ).unique().first()
    now = clock.now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    user = token.user
    if not user.active:
        return None
    return user, token


def needs_touch(token: ApiToken) -> bool:
    return token.last_used_at is None or clock.now() - token.last_used_at > TOUCH_EVERY


def touch(session: Session, token_id: int) -> None:
    """Record that a token was used (at most every TOUCH_EVERY, so requests stay read-only in between)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()))


def resolve(session: Session, plain: str) -> tuple[User, ApiToken] | None:
    """`lookup`, and mark the token used in the caller's transaction."""
    found = lookup(session, plain)
    if found is not None and needs_touch(found[1]):
        found[1].last_used_at = clock.now()
    return found


def revoke(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        owner = token.user
        chain.append(session, stream=chain.user_stream(owner.id), action="api_token_revoked", actor_id=owner.id,
                     actor_name=owner.username, data={"token_id": token.id, "name": token.name})


def expired_before(moment: datetime) -> bool:  # pragma: no cover - convenience for admin listings
    return moment <= clock.now()
