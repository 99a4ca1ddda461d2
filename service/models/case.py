"""A case: one run of the procedure for one project (or one program designation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .model_store import ModelVersion
from .organization import Organization
from .program import Call, Program


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # application (an institution's project) | designation (an FA's program)
    kind: Mapped[str] = mapped_column(String(16), default="application")
    title: Mapped[str] = mapped_column(String(500))
    # domestic | foreign_joint
    variant: Mapped[str] = mapped_column(String(16), default="domestic")
    # running | completed | error
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(32))
    risk_level: Mapped[str | None] = mapped_column(String(8))
    error_message: Mapped[str | None] = mapped_column(Text)
    erad_project_number: Mapped[str | None] = mapped_column(String(32))
    # the institution's submission to the FA (service/cases/submissions.py): None when the case's model names no
    # submitting task (and for cases opened before tejun kept submissions), "awaiting" until the first package
    # is frozen, then "submitted". While "awaiting" the FA sees only its own part of the case (case_scope).
    fa_submission: Mapped[str | None] = mapped_column(String(16))

    funding_agency_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    lead_institution_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))

    process_id: Mapped[str] = mapped_column(String(255))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    # optimistic lock: every write checks and bumps it, so concurrent writers get a conflict, never a merge
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_wakeup_at: Mapped[datetime | None] = mapped_column(index=True)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}

    funding_agency: Mapped[Organization] = relationship(foreign_keys=[funding_agency_id])
    lead_institution: Mapped[Organization | None] = relationship(foreign_keys=[lead_institution_id])
    program: Mapped[Program | None] = relationship()
    call: Mapped[Call | None] = relationship()
    model_version: Mapped[ModelVersion] = relationship()
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )


class CaseParty(Base):
    """A partner institution (or a consulted ministry) taking part in a case, with its own part to see."""

    __tablename__ = "case_parties"
    __table_args__ = (UniqueConstraint("case_id", "organization_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # partner | ministry
    role: Mapped[str] = mapped_column(String(16))

    case: Mapped[Case] = relationship(back_populates="parties")
    organization: Mapped[Organization] = relationship()


class CaseMember(Base):
    """A person taking part in a case (a researcher on the team): they see its summary and their own tasks."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class CaseState(Base):
    """The engine's serialized workflow for a case, kept apart so case lists never load it."""

    __tablename__ = "case_states"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    # zlib-compressed JSON, without specs (see ModelSpec)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]
