"""Throttling sign-in attempts per network address, across all web processes (the count is in the database).

Account lockout (service.auth.authenticate) stops guessing one account's password; this stops one address
from trying many accounts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
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


def forget_expired(session: Session, window_seconds: int) -> int:
    cutoff = clock.now() - timedelta(seconds=window_seconds)
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.window_start < cutoff)).all()
    for row in rows:
        session.delete(row)
    return len(rows)
