"""Versions of the process model set: BPMN, DMN and form files, immutable once stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("set_name", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_name: Mapped[str] = mapped_column(String(64), default="default")
    # SHA-256 over the sorted (path, file hash) pairs: identical content, identical hash
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # draft | published | retired
    status: Mapped[str] = mapped_column(String(16), default="draft")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    files: Mapped[list[ModelFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ModelFile.path"
    )


class ModelFile(Base):
    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(255))
    # bpmn | dmn | form
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))

    version: Mapped[ModelVersion] = relationship(back_populates="files")


class ModelSpec(Base):
    """The engine's serialized process specs for one entry process of a version, stored once.

    Case states never carry specs; restoring a case joins its state with these.
    """

    __tablename__ = "model_specs"
    __table_args__ = (UniqueConstraint("model_version_id", "process_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(255))
    spec_json: Mapped[str] = mapped_column(Text)
