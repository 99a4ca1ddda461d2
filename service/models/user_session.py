"""Sessions kept on the server: one row per sign-in, which the signed session cookie only names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class UserSession(Base):
    """A signed-in browser. The cookie carries a random key; only its SHA-256 is stored (`key_hash`), so the
    table alone cannot be turned into cookies. A session is valid while `ended_at` is empty; sign-out, a
    password reset, a deactivation, the idle timeout, the absolute lifetime or a change of address or browser
    ends it, and `ended_reason` says which (service.auth.sessions)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # "password" or "sso"
    method: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the address and user agent at sign-in ("strong" session protection)
    fingerprint: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # written at most once a minute (service.auth.sessions.TOUCH_EVERY), so the idle timeout is that coarse
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))
