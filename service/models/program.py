"""Specified R&D programs designated by a funding agency, and their calls for proposals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .organization import Organization
from .reference import TechnologyArea

program_areas = Table(
    "program_areas",
    Base.metadata,
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("technology_areas.id"), primary_key=True),
)


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255), default="")
    funding_agency_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    # whole | projects (only some projects of the program are designated)
    designation_scope: Mapped[str] = mapped_column(String(16), default="whole")
    rationale: Mapped[str] = mapped_column(Text, default="")
    designated_at: Mapped[datetime | None]
    # the designated projects ({"project_code", "title"}) when the scope is `projects`
    designated_projects: Mapped[list | None] = mapped_column(JSON)
    # the organization that designated it: the funding agency, or a ministry (「国又はFAが指定する」)
    designated_by_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime]

    funding_agency: Mapped[Organization] = relationship(foreign_keys=[funding_agency_id])
    areas: Mapped[list[TechnologyArea]] = relationship(secondary=program_areas)
    calls: Mapped[list[Call]] = relationship(back_populates="program", order_by="Call.id")


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255), default="")
    risk_deadline: Mapped[date] = mapped_column(Date)
    # ISO 8601 duration between periodic follow-ups
    follow_up_interval: Mapped[str] = mapped_column(String(16), default="P12M")
    # draft | open | closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # what the call sets for its cases: days of warning before the risk deadline (else 14), days the FA has for a
    # review round (else 30), the forms it requires, the project end date when an application gives none
    deadline_warning_days: Mapped[int | None] = mapped_column(Integer)
    review_days: Mapped[int | None] = mapped_column(Integer)
    required_forms: Mapped[list | None] = mapped_column(JSON)
    standard_end_date: Mapped[date | None] = mapped_column(Date)

    program: Mapped[Program] = relationship(back_populates="calls")
