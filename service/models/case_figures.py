"""The dashboards' read model: a few figures per case, written in the same transaction as the step they come
from (service/dashboards/read_model.py), so a dashboard aggregates small rows instead of reading JSON out of
every event of 100,000 cases.

Nothing here is workflow state: the event log stays the source of truth, a replay never reads or writes these
tables, and `read_model.rebuild` derives them again from the events (the migration that made them does).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CaseMilestones(Base):
    """When the institution first submitted the case to the FA, when the FA manager first signed off the
    decision, and how many FA review rounds it had (a row once any of them happened)."""

    __tablename__ = "case_milestones"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    review_rounds: Mapped[int] = mapped_column(Integer, default=0)


class CaseMeasure(Base):
    """One measure of a case: requested by the FA (`requested`: each request, as often as it was made) or
    planned by the institution (`planned`: each measure of each submitted plan)."""

    __tablename__ = "case_measures"
    __table_args__ = (Index("ix_case_measures_case_kind", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # requested | planned
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(Text)  # the catalog code (M1 ...)
    target: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]  # the step's moment
