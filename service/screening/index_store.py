"""One search index per list snapshot, built once and shared by every process through PostgreSQL.

Normalizing every name of a list (NFKC, legal forms, kana folding, transliteration with pykakasi) takes
seconds for the US Consolidated Screening List, and each process used to do it for itself on its first
screening. Snapshots never change, so the import builds the index once (`store`, in the import's transaction)
and writes it to `screening_indexes` as a blob (`EntryIndex.to_bytes`: the comparable forms of every name,
their search keys and postings, zlib-compressed); a process loads it in a few tens of milliseconds
(`load`) and keeps the newest few in memory (service/screening/lists.py `index_of`).

A snapshot without a stored index, or with one of an older blob format (a snapshot written directly, as some
tests do, or a tejun upgrade changing the layout), is built from its entries as before; `ensure` (also
`flask --app wsgi screening build-indexes`) stores the missing ones. Migration 0014 built the indexes of the
snapshots imported before.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import clock
from ..models import ScreeningEntry, ScreeningIndex, ScreeningSnapshot
from .matching import BLOB_FORMAT, EntryIndex, ListedParty

log = logging.getLogger("tejun.screening")


def build(session: Session, snapshot_id: int) -> EntryIndex:
    """The index of a snapshot, built from its entries (the slow way)."""
    rows = session.execute(
        select(ScreeningEntry.id, ScreeningEntry.entity_type, ScreeningEntry.name, ScreeningEntry.aliases)
        .where(ScreeningEntry.snapshot_id == snapshot_id).order_by(ScreeningEntry.id)
    )
    return EntryIndex(
        ListedParty(entry_id, entity_type, (("name", name), *(("alias", a) for a in (aliases or []))))
        for entry_id, entity_type, name, aliases in rows
    )


def store(session: Session, snapshot_id: int) -> EntryIndex:
    """Build the index of a snapshot and write it (in the caller's transaction)."""
    started = time.perf_counter()
    index = build(session, snapshot_id)
    blob = index.to_bytes()
    session.execute(delete(ScreeningIndex).where(ScreeningIndex.snapshot_id == snapshot_id))
    session.add(ScreeningIndex(snapshot_id=snapshot_id, format=BLOB_FORMAT, entry_count=len(index),
                               name_count=index.name_count, data=blob, built_at=clock.now()))
    session.flush()
    log.info("screening index of snapshot %s: %d entries, %d name forms, %d bytes, built in %.1f s",
             snapshot_id, len(index), index.name_count, len(blob), time.perf_counter() - started)
    return index


def load(session: Session, snapshot_id: int) -> EntryIndex | None:
    """The stored index of a snapshot; None when there is none of this tejun's format."""
    blob = session.scalar(select(ScreeningIndex.data).where(ScreeningIndex.snapshot_id == snapshot_id,
                                                            ScreeningIndex.format == BLOB_FORMAT))
    if blob is None:
        return None
    try:
        return EntryIndex.from_bytes(bytes(blob))
    except ValueError as exc:
        log.error("stored screening index of snapshot %s is unreadable (%s): building it", snapshot_id, exc)
        return None


def ensure(session: Session) -> list[int]:
    """Store the index of every snapshot that has none of this format; the snapshot ids built."""
    current = select(ScreeningIndex.snapshot_id).where(ScreeningIndex.format == BLOB_FORMAT)
    missing = list(session.scalars(select(ScreeningSnapshot.id).where(ScreeningSnapshot.id.not_in(current))
                                   .order_by(ScreeningSnapshot.id)))
    for snapshot_id in missing:
        store(session, snapshot_id)
    return missing


def build_missing(svc) -> list[int]:
    """`screening build-indexes`: `ensure` in a transaction of its own; the snapshot ids it built for."""
    from ..unit_of_work import unit_of_work

    with unit_of_work(svc) as session:
        return ensure(session)
