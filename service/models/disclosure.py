"""Researchers' disclosure profiles: one per researcher, reused by every case and certified per case."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DisclosureProfile(Base):
    __tablename__ = "disclosure_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # the `disclosure` object of forms/disclosure.schema.json, without its per-case certification
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # bumped on every change (optimistic lock for editors, and what a certification refers to)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __mapper_args__ = {"version_id_col": version}


class DisclosureCertification(Base):
    """A researcher certified their disclosure for one case (on a date, at a profile version)."""

    __tablename__ = "disclosure_certifications"
    __table_args__ = (UniqueConstraint("case_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("disclosure_profiles.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # the roster member id in that case (M1, P1-M1)
    member_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(36))
    certification_date: Mapped[date] = mapped_column(Date)
    profile_version: Mapped[int | None] = mapped_column(Integer)
    # self | security_office: who filled the form
    filled_by: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]
    # the institution the disclosure task was routed to: the part of the case the certification belongs to
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))


class DisclosureConsent(Base):
    """A researcher lets the research-security office of their own institution start that case's disclosure
    form from their profile (service/disclosures). Revoked consent keeps its row (`revoked_at`)."""

    __tablename__ = "disclosure_consents"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
