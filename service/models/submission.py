"""What an institution submitted to its funding agency, frozen when it submitted it (service/cases/submissions.py).

Each round (the first submission, each answer to the FA's questions, each additional-mitigation round) is one
row: the package as canonical JSON (`service.eventlog.hashing.dumps`) and its SHA-256, which the case's
`submission_frozen` event also carries, so the audit chain vouches for the package.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SubmissionPackage(Base):
    __tablename__ = "submission_packages"
    __table_args__ = (UniqueConstraint("case_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # 1, 2, ... in the order the institution submitted
    round: Mapped[int] = mapped_column(Integer)
    # the submitting task's `submissionKind`: initial | information_response | additional_mitigation | ...
    kind: Mapped[str] = mapped_column(String(32))
    # the user task whose completion submitted it
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(255))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_by_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime]
    # the package, canonical JSON (sorted keys, no spaces): exactly the bytes `sha256` is the hash of
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
