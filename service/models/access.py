"""Sign-in support: identities at an external identity provider, and failed sign-ins per network address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class UserIdentity(Base):
    """A user's account at an OpenID Connect provider (issuer + subject), linked to a tejun user."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed sign-ins counted per key: per address ("ip:192.0.2.7") within a sliding window, and per unknown
    username ("name:<sha256>"), which locks like an account does (`locked_until`), so that a lockout does not
    tell existing names from unknown ones."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]
