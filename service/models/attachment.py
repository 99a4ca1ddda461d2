"""Evidence files attached to a case while someone works one of its tasks.

The bytes live under `TEJUN_UPLOAD_DIR` (outside the web root) under a generated name; this row is what
tejun knows about them: who uploaded what, for which task, its type as detected from the content, its size
and SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # what forms and URLs carry: random, so ids cannot be guessed or counted
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # the work item (engine task id) and BPMN element it was uploaded for
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(255))
    # the organization the task was routed to: partner institutions see their own part only
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    original_filename: Mapped[str] = mapped_column(String(255))
    # detected from the bytes, never taken from the browser
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by_name: Mapped[str] = mapped_column(String(255), default="")
    uploaded_at: Mapped[datetime]


class AttachmentShare(Base):
    """An evidence file shared with an organization that may not otherwise see its part of the case: a task
    routed to that organization declares, in its context (forms/*.context.json, `visible_to`), an entry that
    holds the file (the documents the FA shares with a consulted ministry). Written when the task is routed."""

    __tablename__ = "attachment_shares"
    __table_args__ = (UniqueConstraint("attachment_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    shared_at: Mapped[datetime]
