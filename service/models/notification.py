"""Notifications: what a person should know about (new work, reminders, escalations, screening hits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        # a reminder or escalation reaches each person once, even when two workers look at the same moment
        UniqueConstraint("user_id", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # assigned | reminder | escalation | screening_hit | follow_up | ...
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # a path inside tejun, e.g. /tasks/<id>
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # set once the e-mail for it was handed to the SMTP server (None: not sent, or mail is off)
    emailed_at: Mapped[datetime | None]
    # avoids sending the same reminder twice, e.g. "reminder:<task_id>"
    dedupe_key: Mapped[str | None] = mapped_column(String(120), index=True)
