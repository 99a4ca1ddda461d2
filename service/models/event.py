"""The append-only event log: the audit source of truth, hash-chained per stream."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# the event log's canonical JSON (service/eventlog/hashing.py `dumps`), spelled here so the tables import nothing
# of the service; `audit verify` hashes this stored text as is, so any drift between the two fails its tests
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


class CanonicalJSON(TypeDecorator):
    """A JSON column stored as canonical text (sorted keys, compact, UTF-8): the very bytes an event's hash
    covers, so `audit verify` can hash the stored text without parsing and re-encoding it."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        def process(value):
            return None if value is None else canonical_json(value)

        return process


class EventStream(Base):
    """The head of one chain ("case:42", "system"): its last sequence number and hash."""

    __tablename__ = "event_streams"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # kept even if the account is renamed or removed later
    actor_name: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    element_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict] = mapped_column(CanonicalJSON, default=dict)
    model_hash: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
