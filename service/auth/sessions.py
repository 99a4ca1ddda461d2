"""Sessions kept on the server, so that they can be ended there.

Signing in makes a `user_sessions` row and a random key; the (signed) session cookie carries only the key, the
table only the key's SHA-256. A request is signed in while its row is open (`ended_at` empty) and:

* was used within the idle timeout (`TEJUN_SESSION_IDLE_MINUTES`, 120) and began within the absolute lifetime
  (`TEJUN_SESSION_LIFETIME_HOURS`, 12);
* comes from the address and browser (User-Agent) it was opened from ("strong" session protection).

Otherwise the row is ended, with the reason. Signing out ends the one session (and so does signing in again
in the same browser); a password reset or change and
a deactivation end all of the user's sessions. An ended session never comes back: a copy of its cookie is
worth nothing afterwards.

Cost per request: one indexed lookup (with the user, `service.auth.session.load_user`); `last_seen_at` is
written only when it is older than `TOUCH_EVERY`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from .. import clock
from ..eventlog import chain
from ..models import UserSession
from ..unit_of_work import unit_of_work

KEY_PREFIX = "s:"
TOUCH_EVERY = timedelta(minutes=1)

# why a session ended (user_sessions.ended_reason)
SIGNED_OUT = "signed_out"
REPLACED = "replaced"  # the same browser signed in again
PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a password
DEACTIVATED = "deactivated"
IDLE = "idle"
EXPIRED = "expired"
MOVED = "moved"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(remote_addr: str | None, user_agent: str | None) -> str:
    return hashlib.sha256(f"{remote_addr or ''}\n{user_agent or ''}".encode()).hexdigest()


def start(session: Session, user_id: int, *, method: str, remote_addr: str | None, user_agent: str | None) -> str:
    """Open a session for a user who has just signed in; returns the key for the cookie (shown nowhere else)."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(UserSession(
        key_hash=digest(key), user_id=user_id, method=method, fingerprint=fingerprint(remote_addr, user_agent),
        remote_addr=(remote_addr or "")[:64] or None, user_agent=(user_agent or "")[:255] or None,
        created_at=now, last_seen_at=now,
    ))
    session.flush()
    return key


def why_over(row: UserSession, *, idle: timedelta, lifetime: timedelta, seen_from: str,
             now: datetime | None = None) -> str | None:
    """The reason to end an open session now, or None while it is good."""
    now = now or clock.now()
    if row.fingerprint != seen_from:
        return MOVED
    if now - row.created_at >= lifetime:
        return EXPIRED
    if now - row.last_seen_at >= idle:
        return IDLE
    return None


def needs_touch(row: UserSession, now: datetime | None = None) -> bool:
    return (now or clock.now()) - row.last_seen_at > TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=clock.now()))


def _end(session: Session, condition, reason: str) -> int:
    result = session.execute(
        update(UserSession).where(condition, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), ended_reason=reason)
    )
    return result.rowcount or 0


def end(session: Session, key: str, reason: str = SIGNED_OUT) -> int:
    """End the session with this cookie key (sign-out)."""
    return _end(session, UserSession.key_hash == digest(key), reason)


def end_by_id(session: Session, session_id: int, reason: str) -> int:
    return _end(session, UserSession.id == session_id, reason)


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user (password reset or change, deactivation); returns how many."""
    return _end(session, UserSession.user_id == user_id, reason)


# -- use cases (each opens its own transaction) ----------------------------------------------------------------
def sign_in(svc, user_id: int, *, previous_key: str | None, method: str, remote_addr: str | None,
            user_agent: str | None) -> str:
    """A new server-side session for a user who has just signed in; the one this browser held before (its
    key, without the cookie prefix) ends as replaced. Returns the new session's key."""
    with unit_of_work(svc) as session:
        if previous_key:
            end(session, previous_key, REPLACED)
        return start(session, user_id, method=method, remote_addr=remote_addr, user_agent=user_agent)


def sign_out(svc, actor, session_key: str, remote_addr: str | None) -> None:
    """The actor signs out: this session ends on the server, and the sign-out is on their stream."""
    with unit_of_work(svc) as session:
        end(session, session_key, SIGNED_OUT)
        chain.append(session, stream=chain.user_stream(actor.user_id), action="logout", actor_id=actor.user_id,
                     actor_name=actor.username, data={"remote_addr": remote_addr})
