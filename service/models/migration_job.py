"""A request to move many running cases to another model version, worked through by the timer worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class MigrationJob(Base):
    __tablename__ = "migration_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    # queued | running | done
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    case_ids: Mapped[list] = mapped_column(JSON)
    # what the preview said per case when the job was requested: {"<case id>": true|false}
    predicted: Mapped[dict] = mapped_column(JSON, default=dict)
    # per case: {"<case id>": {"result": "migrated"|"refused"|"conflict"|"skipped", "detail": "..."}}
    results: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
