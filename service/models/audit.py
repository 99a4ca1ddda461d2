"""Audit anchors: periodic digests over every event stream's head, chained like the events themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditAnchor(Base):
    """The heads of all event streams at one moment (see service/eventlog/anchors.py).

    `changed` holds the heads that moved since the previous anchor (all heads in the first one), so the full
    set at any anchor is the union of the anchors up to it; `heads_digest` covers that full set. Exported
    anchors kept outside tejun prove later that no stream was cut short or rewritten.
    """

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 1, 2, 3, ... without gaps; unique, so two creators at the same moment cannot both chain to one anchor
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(150))
    stream_count: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    heads_digest: Mapped[str] = mapped_column(String(64))
    # [[stream, seq, head hash], ...] sorted by stream
    changed: Mapped[list] = mapped_column(JSON, default=list)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
