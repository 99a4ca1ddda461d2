"""FA–institution consultation threads on a case (service/consultations).

Before and during the FA's review the funding agency and the lead institution's research-security office
consult each other (seed 003: 「FAは必要に応じ、研究機関とリスク確認、リスク評価等について相談・調整」). A thread
is one question with its answers; it is about the case in general, the team's scope, or one measure. The
rows are what the pages list; every change is also an event in the case's audit chain (`consultation_*`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ConsultationThread(Base):
    __tablename__ = "consultation_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # general | team_scope | measure
    subject: Mapped[str] = mapped_column(String(16))
    # the catalog code when the subject is a measure (M1 ...)
    measure: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    # the side that asked: fa | institution; only that side closes the thread
    side: Mapped[str] = mapped_column(String(16))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_by_name: Mapped[str] = mapped_column(String(255), default="")
    opened_at: Mapped[datetime]
    # open | closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_by_name: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]


class ConsultationMessage(Base):
    """The question (the first message), each answer or further question, and the note closing the thread."""

    __tablename__ = "consultation_messages"
    __table_args__ = (Index("ix_consultation_messages_thread", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("consultation_threads.id", ondelete="CASCADE"))
    # question | answer | closing
    kind: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # public ids of the evidence files attached (rows of `attachments`, element_id "consultation")
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    at: Mapped[datetime]
