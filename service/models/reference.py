"""Reference data that designers and administrators maintain: technology areas, measures, risk levels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class TechnologyAreaList(Base):
    """One published version of the critical technology areas list (the 2022 list of 20 areas, then its
    successors); programs keep pointing at the areas of the version they were designated under."""

    __tablename__ = "technology_area_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded_at: Mapped[datetime]

    areas: Mapped[list[TechnologyArea]] = relationship(
        back_populates="area_list", cascade="all, delete-orphan", order_by="TechnologyArea.position"
    )


class TechnologyArea(Base):
    __tablename__ = "technology_areas"
    __table_args__ = (UniqueConstraint("list_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("technology_area_lists.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    name_ja: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))

    area_list: Mapped[TechnologyAreaList] = relationship(back_populates="areas")


class MitigationMeasure(Base):
    __tablename__ = "mitigation_measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    name_ja: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RiskLevel(Base):
    __tablename__ = "risk_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    rank: Mapped[int] = mapped_column(Integer)
    name_ja: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
