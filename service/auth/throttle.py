"""Throttling sign-in attempts per network address, across all web processes (the count is in the database).

Account lockout (service.auth.authenticate) stops guessing one account's password; this stops one address
from trying many accounts. Names that no account has are counted and locked here too (`record_name_failure`),
just like accounts, so that a lockout does not reveal which names exist.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import clock
from ..models import LoginThrottle


def _key(remote_addr: str | None) -> str:
    return f"ip:{(remote_addr or 'unknown')[:90]}"


def blocked_for(session: Session, remote_addr: str | None, limit: int, window_seconds: int) -> int:
    """Seconds until the address may try again (0 when it may try now)."""
    row = session.get(LoginThrottle, _key(remote_addr))
    if row is None or row.failures < limit:
        return 0
    remaining = row.window_start + timedelta(seconds=window_seconds) - clock.now()
    return max(0, int(remaining.total_seconds()))


def record_failure(session: Session, remote_addr: str | None, window_seconds: int) -> None:
    key, now = _key(remote_addr), clock.now()
    window_open = now - timedelta(seconds=window_seconds)
    # a window that has passed starts again from this failure
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.window_start < window_open)
        .values(failures=0, window_start=now)
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(LoginThrottle).values(key=key, failures=1, window_start=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[LoginThrottle.key], set_={"failures": LoginThrottle.failures + 1}
        )
    )


def _name_key(username: str) -> str:
    return "name:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()


def name_locked_until(session: Session, username: str) -> datetime | None:
    """For a name no account has: until when it is locked, as an account with that name would be."""
    row = session.get(LoginThrottle, _name_key(username))
    return row.locked_until if row is not None else None


def record_name_failure(session: Session, username: str, max_failures: int, lockout_seconds: int) -> None:
    """A failed sign-in with a name no account has, counted exactly like an account's `failed_logins`: the
    `max_failures`-th locks the name for `lockout_seconds`, so a lockout tells nobody whether the name
    exists."""
    now = clock.now()
    row = session.get(LoginThrottle, _name_key(username))
    if row is None:
        row = LoginThrottle(key=_name_key(username), failures=0, window_start=now)
        session.add(row)
    row.failures += 1
    if row.failures >= max_failures:
        row.locked_until = now + timedelta(seconds=lockout_seconds)
        row.failures = 0


def forget_expired(session: Session, window_seconds: int) -> int:
    """Delete the rows that no longer hold anything back (the worker's daily jobs call this); returns how many.

    Only rows whose deletion changes nothing are forgotten: an address whose window has passed (its next
    failure starts a new window anyway), and an unknown name with no failures counted and no lock in force
    (exactly like an account with `failed_logins == 0`, so names still cannot be told from accounts).
    """
    now = clock.now()
    cutoff = now - timedelta(seconds=window_seconds)
    result = session.execute(
        delete(LoginThrottle).where(or_(
            and_(LoginThrottle.key.startswith("ip:"), LoginThrottle.window_start < cutoff),
            and_(LoginThrottle.key.startswith("name:"), LoginThrottle.failures == 0,
                 or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)),
        ))
    )
    return result.rowcount or 0
