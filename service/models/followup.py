"""Event-triggered follow-ups waiting to reach their case (a new restricted-list hit, a changed disclosure).

A case catches the `screening_hit` and `disclosure_changed` messages only while it waits between follow-ups
(docs/procedure.md §6). What happens at another moment is kept here, and delivered as soon as the case waits
for it (service/followups).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class PendingFollowUp(Base):
    __tablename__ = "pending_follow_ups"
    __table_args__ = (Index("ix_pending_follow_ups_status", "status", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # the BPMN message: screening_hit | disclosure_changed
    message: Mapped[str] = mapped_column(String(64))
    # the message payload ({"trigger": {...}}); the trigger carries this row's id as `trigger_id`
    payload: Mapped[dict] = mapped_column(JSON)
    # pending | delivered | dropped (the case ended before it could take it)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
