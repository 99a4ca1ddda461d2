"""Screening runs: a case's subjects searched in the indexes of the lists in force, the hits stored (a decision
on the same entry carried over), and what runs and reviews record in the case's stream."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..cases.pipeline import record_event
from ..models import Case, ScreeningEntry, ScreeningHit, ScreeningSnapshot, ScreeningSubject
from ..observability import metrics
from .lists import current_snapshots, index_of
from .matching import CLASS_RANK, EntryIndex, Match, Thresholds
from .subjects import Subject


@dataclass
class Run:
    snapshots: list[ScreeningSnapshot]
    subjects: dict[str, ScreeningSubject]
    found: list[ScreeningHit]  # hits stored by this run
    new: list[ScreeningHit]  # of those, the ones not seen before for that subject (or the entry changed)


def _search(index: EntryIndex, subject: Subject, thresholds: Thresholds) -> list[tuple[Match, dict | None]]:
    """Matches of a subject's names (same kind of party) and, for people, of their disclosed affiliations."""
    best: dict[int, tuple[Match, dict | None]] = {}
    for match in index.search(subject.names(), subject.subject_type, thresholds):
        best[match.ref] = (match, None)
    if subject.subject_type == "person":
        for affiliation in subject.affiliations:
            label = f"{affiliation['label']} ({affiliation['relation']})"
            for match in index.search([(label, affiliation["name"])], "organization", thresholds):
                current = best.get(match.ref)
                if current is None or current[0].score < match.score:
                    best[match.ref] = (match, affiliation)
    ranked = sorted(best.values(), key=lambda pair: (-pair[0].score, pair[0].ref))
    return ranked[: thresholds.max_hits]


def screen_case(
    session: Session,
    case: Case,
    subjects: list[Subject],
    *,
    found_by: str,
    snapshots: list[ScreeningSnapshot] | None = None,
    thresholds: Thresholds | None = None,
    update_subjects: bool = True,
) -> Run:
    thresholds = thresholds or Thresholds.from_env()
    snapshots = current_snapshots(session, case.lead_institution_id) if snapshots is None else snapshots
    metrics.screening_runs.labels(found_by).inc()
    now = clock.now()
    stored = {s.subject_id: s for s in session.scalars(
        select(ScreeningSubject).where(ScreeningSubject.case_id == case.id))}
    rows: dict[str, ScreeningSubject] = {}
    for subject in subjects:
        row = stored.get(subject.subject_id)
        if row is None:
            row = ScreeningSubject(case_id=case.id, subject_id=subject.subject_id, first_screened_at=now,
                                   subject_type=subject.subject_type, name=subject.name[:300])
            session.add(row)
        if update_subjects or row.id is None:
            row.subject_type, row.name = subject.subject_type, subject.name[:300]
            row.aliases, row.affiliations = subject.aliases, subject.affiliations
        row.last_screened_at = now
        rows[subject.subject_id] = row
    session.flush()
    earlier: dict[int, list[ScreeningHit]] = {}
    for hit in session.scalars(select(ScreeningHit).where(ScreeningHit.case_id == case.id)
                               .order_by(ScreeningHit.id)):
        earlier.setdefault(hit.subject_ref_id, []).append(hit)
    found, new = [], []
    for snapshot in snapshots:
        index = index_of(session, snapshot.id)
        matched: list[tuple[ScreeningSubject, Match, dict | None]] = []
        for subject in subjects:
            row = rows[subject.subject_id]
            for match, affiliation in _search(index, subject, thresholds):
                matched.append((row, match, affiliation))
        entries = {e.id: e for e in session.scalars(
            select(ScreeningEntry).where(ScreeningEntry.id.in_({m.ref for _r, m, _a in matched} or {0})))}
        for row, match, affiliation in matched:
            previous = earlier.get(row.id, [])
            if any(h.entry_id == match.ref for h in previous):
                continue
            entry = entries[match.ref]
            hit = ScreeningHit(
                case_id=case.id, subject_ref_id=row.id, snapshot_id=snapshot.id, entry_id=entry.id,
                source=snapshot.source, entry_key=entry.entry_key, content_hash=entry.content_hash,
                entry_name=entry.name, score=match.score, classification=match.classification,
                evidence={**match.evidence, "list": {"source": snapshot.source, "list_date":
                          snapshot.list_date.isoformat(), "snapshot_id": snapshot.id,
                          "countries": entry.countries, "programs": entry.programs}},
                suggested_relation=affiliation["relation"] if affiliation else "current_affiliation",
                suggested_end_year=affiliation.get("end_year") if affiliation else None,
                found_by=found_by, found_at=now,
            )
            same_entry = [h for h in previous
                          if h.entry_key == entry.entry_key and h.content_hash == entry.content_hash]
            decided = [h for h in same_entry if h.decision]
            if decided:
                source_hit = decided[-1]
                hit.decision, hit.listed_relation = source_hit.decision, source_hit.listed_relation
                hit.past_affiliation_end_year, hit.reason = source_hit.past_affiliation_end_year, source_hit.reason
                hit.reviewer_id, hit.reviewer_name = source_hit.reviewer_id, source_hit.reviewer_name
                hit.reviewed_at, hit.carried_from_id = source_hit.reviewed_at, source_hit.id
            session.add(hit)
            found.append(hit)
            if not any(CLASS_RANK[h.classification] >= CLASS_RANK[hit.classification] for h in same_entry):
                new.append(hit)
    session.flush()
    return Run(snapshots, rows, found, new)


def current_hits(session: Session, case: Case, subject_ids: list[str] | None = None) -> list[ScreeningHit]:
    """The case's hits on the lists in force (hits on superseded snapshots are history)."""
    snapshot_ids = [s.id for s in current_snapshots(session, case.lead_institution_id)]
    query = (select(ScreeningHit).join(ScreeningSubject, ScreeningHit.subject_ref_id == ScreeningSubject.id)
             .where(ScreeningHit.case_id == case.id, ScreeningHit.snapshot_id.in_(snapshot_ids or [0])))
    if subject_ids is not None:
        query = query.where(ScreeningSubject.subject_id.in_(subject_ids or [""]))
    return list(session.scalars(query.order_by(ScreeningHit.score.desc(), ScreeningHit.id)))


def record(session: Session, case: Case, actor: Actor, action: str, data: dict, task_id: str | None = None):
    """A screening event in the case's stream (through the case pipeline's `record_event`)."""
    return record_event(session, case, actor, action, task_id=task_id, data=data)


def hit_summary(hit: ScreeningHit) -> dict:
    return {"hit_id": hit.id, "subject_id": hit.subject.subject_id, "subject_name": hit.subject.name,
            "source": hit.source, "list_date": (hit.evidence.get("list") or {}).get("list_date"),
            "entry_key": hit.entry_key, "entry_name": hit.entry_name, "score": hit.score,
            "classification": hit.classification, "decision": hit.decision,
            "carried_from": hit.carried_from_id}


def snapshot_summary(snapshot: ScreeningSnapshot) -> dict:
    return {"snapshot_id": snapshot.id, "source": snapshot.source, "list_date": snapshot.list_date.isoformat(),
            "checksum": snapshot.checksum, "row_count": snapshot.row_count}
