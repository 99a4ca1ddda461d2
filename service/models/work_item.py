"""The work-item read model: one row per ready human task, refreshed in the same transaction as the case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .case import Case
from .organization import User

PRIORITIES = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("case_id", "task_id"),
        Index("ix_work_items_queue", "organization_id", "role", "assignee_id"),
        # organization last: the overdue tab's "assigned to me outside my organizations" is index-only
        Index("ix_work_items_assignee_due", "assignee_id", "due_at", "organization_id"),
        Index("ix_work_items_org_due", "organization_id", "due_at"),
        # the queue's programme filter: does any item of this programme in this organization exist
        Index("ix_work_items_org_program", "organization_id", "program_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    # BPMN element id and its process
    element_id: Mapped[str] = mapped_column(String(255))
    process_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    form: Mapped[str | None] = mapped_column(String(255))
    stage: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    # unsubmitted form data saved by whoever works on it; never validated, never seen by the engine
    draft: Mapped[dict | None] = mapped_column(JSON)
    draft_saved_at: Mapped[datetime | None]
    draft_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # copied from the case so that queue pages need no join
    case_reference: Mapped[str] = mapped_column(String(32))
    case_title: Mapped[str] = mapped_column(String(500))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    lead_institution_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class TaskRoute(Base):
    """Which organization and role each human task of a case was routed to, kept after the task is done:
    a completed step belongs to the organization it was routed to (`permissions.CaseScope`)."""

    __tablename__ = "task_routes"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str] = mapped_column(String(32))
    routed_at: Mapped[datetime]
