"""Restricted-party screening: list snapshots and their entries, the subjects of each case, and hits.

A snapshot is one import of one list (METI End User List, US CSL, an institution's own list): immutable once
written, so the results it produced can always be traced back to the exact file (checksum) and date.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class ScreeningSnapshot(Base):
    __tablename__ = "screening_snapshots"
    __table_args__ = (Index("ix_screening_snapshots_source", "source", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # a source code of service/screening/sources.py: meti_end_user_list | us_csl | institution_list
    source: Mapped[str] = mapped_column(String(32))
    # institution lists belong to the institution that keeps them; published lists to nobody
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    label: Mapped[str] = mapped_column(String(255), default="")
    # the date the list was published or revised (the "version" people talk about)
    list_date: Mapped[date] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    # SHA-256 of the imported file
    checksum: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_by_name: Mapped[str] = mapped_column(String(150))
    imported_at: Mapped[datetime]


class ScreeningEntry(Base):
    """One listed party of one snapshot."""

    __tablename__ = "screening_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("screening_snapshots.id", ondelete="CASCADE"), index=True)
    # stable across snapshots of the same source: the source's own id, else a digest of name and country
    entry_key: Mapped[str] = mapped_column(String(128))
    # digest of what a reviewer judged (names, aliases, addresses, countries, programs): a decision on an
    # entry carries over to later snapshots only while this stays the same
    content_hash: Mapped[str] = mapped_column(String(64))
    # person | organization | other (vessels, aircraft) | unknown
    entity_type: Mapped[str] = mapped_column(String(16), default="unknown")
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    addresses: Mapped[list] = mapped_column(JSON, default=list)
    countries: Mapped[list] = mapped_column(JSON, default=list)
    # programs, reasons, types of concern (e.g. METI's 懸念区分, CSL's programs)
    programs: Mapped[list] = mapped_column(JSON, default=list)
    remarks: Mapped[str] = mapped_column(Text, default="")

    snapshot: Mapped[ScreeningSnapshot] = relationship(lazy="joined")


class ScreeningIndex(Base):
    """The search index of one snapshot, built once at import and loaded by every process
    (service/screening/index_store.py): the entries' names in their comparable forms with their search keys,
    as the blob `EntryIndex.to_bytes` writes."""

    __tablename__ = "screening_indexes"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("screening_snapshots.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    # matching.BLOB_FORMAT of the blob; another format is rebuilt
    format: Mapped[int] = mapped_column(Integer)
    entry_count: Mapped[int] = mapped_column(Integer)
    name_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime]


class ScreeningSubject(Base):
    """A person or organization of a case that is screened (and re-screened when a list changes)."""

    __tablename__ = "screening_subjects"
    __table_args__ = (UniqueConstraint("case_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # the roster id: M1, P1, P1-M1
    subject_id: Mapped[str] = mapped_column(String(64))
    # person | organization
    subject_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    # [{"label": "name_latin", "name": "..."}]: other names the subject is known by
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    # [{"name": "...", "relation": "current_affiliation" | "current_funding" | "past_affiliation",
    #   "end_year": 2021, "label": "appointment"}]: organizations a person discloses ties to
    affiliations: Mapped[list] = mapped_column(JSON, default=list)
    first_screened_at: Mapped[datetime]
    last_screened_at: Mapped[datetime]


class ScreeningHit(Base):
    """A list entry that looked like a subject, with the evidence and (once reviewed) a person's decision."""

    __tablename__ = "screening_hits"
    __table_args__ = (
        UniqueConstraint("subject_ref_id", "entry_id"),
        Index("ix_screening_hits_case_decision", "case_id", "decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    subject_ref_id: Mapped[int] = mapped_column(ForeignKey("screening_subjects.id", ondelete="CASCADE"), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("screening_snapshots.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("screening_entries.id"))
    source: Mapped[str] = mapped_column(String(32))
    entry_key: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    # exact | probable | possible
    classification: Mapped[str] = mapped_column(String(16))
    # which subject name/alias matched which entry name/alias, after which normalizations
    evidence: Mapped[dict] = mapped_column(JSON)
    # the relation to the listed entity the match suggests (affiliation hits); the reviewer decides
    suggested_relation: Mapped[str | None] = mapped_column(String(32))
    suggested_end_year: Mapped[int | None] = mapped_column(Integer)
    # task | import: what made tejun screen
    found_by: Mapped[str] = mapped_column(String(16))
    found_at: Mapped[datetime]
    # None until reviewed; confirmed_match | false_positive
    decision: Mapped[str | None] = mapped_column(String(16))
    listed_relation: Mapped[str | None] = mapped_column(String(32))
    past_affiliation_end_year: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str | None] = mapped_column(String(150))
    reviewed_at: Mapped[datetime | None]
    # set when the decision was taken over from an earlier hit on the same, unchanged entry
    carried_from_id: Mapped[int | None] = mapped_column(Integer)

    subject: Mapped[ScreeningSubject] = relationship(lazy="joined")
