"""Screening's hooks around the screening-results form (registered at start-up: service/wiring.py): screening
the subjects when the task becomes ready (pre-filling its rows), and refusing its submission while hits wait
for review."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from ..auth.actor import SYSTEM
from ..errors import ValidationFailed
from ..models import Case, ScreeningHit, WorkItem
from .lists import current_snapshots
from .rows import SCREENING_FORM, apply_to_rows
from .runs import current_hits, hit_summary, record, screen_case, snapshot_summary
from .subjects import subjects_from_task

log = logging.getLogger("tejun.screening")


def screen_ready_tasks(session: Session, case: Case, tasks) -> None:
    """Screen the subjects of every newly ready screening-results task and pre-fill its form."""
    for task in tasks:
        if task.properties.get("formJsonSchemaFilename") != SCREENING_FORM:
            continue
        draft = task.data.get("screening_results")
        if not isinstance(draft, dict) or not isinstance(draft.get("results"), list):
            continue
        try:
            with session.begin_nested():
                _screen_task(session, case, task)
        except Exception as exc:  # screening must never stop the procedure: the officer screens by hand
            log.exception("automated screening failed for case %s", case.id)
            record(session, case, SYSTEM, "screening_failed", {"error": str(exc)[:500]}, task.task_id)


def _screen_task(session: Session, case: Case, task) -> None:
    subjects = subjects_from_task(session, task.data)
    snapshots = current_snapshots(session, case.lead_institution_id)
    if not snapshots:
        record(session, case, SYSTEM, "screening_skipped",
                {"reason": "no restricted-party list has been imported", "subjects": len(subjects)}, task.task_id)
        return
    run = screen_case(session, case, subjects, found_by="task", snapshots=snapshots)
    hits = current_hits(session, case, [s.subject_id for s in subjects])
    apply_to_rows(task.data["screening_results"]["results"], hits, snapshots, None)
    record(session, case, SYSTEM, "screening_performed", {
        "found_by": "task",
        "snapshots": [snapshot_summary(s) for s in snapshots],
        "subjects": [{"subject_id": s.subject_id, "subject_type": s.subject_type, "name": s.name} for s in subjects],
        "hits": [hit_summary(h) for h in hits],
        "new_hit_ids": [h.id for h in run.new],
    }, task.task_id)


def check_screening_submission(session: Session, case: Case, item: WorkItem, data: dict) -> None:
    """Refuse a screening form while hits wait for review, or when a row contradicts a confirmed match."""
    if item.form != SCREENING_FORM:
        return
    rows = ((data.get("screening_results") or {}).get("results")) or []
    hits = [h for h in current_hits(session, case)]
    by_subject: dict[str, list[ScreeningHit]] = {}
    for hit in hits:
        by_subject.setdefault(hit.subject.subject_id, []).append(hit)
    errors = []
    seen = set()
    for i, row in enumerate(rows):
        subject_id = str(row.get("subject_id"))
        seen.add(subject_id)
        subject_hits = by_subject.get(subject_id, [])
        pointer = f"/screening_results/results/{i}/match_status"
        waiting = [h for h in subject_hits if h.decision is None]
        if waiting:
            errors.append({"pointer": pointer, "keyword": "screening_review",
                           "message": f"{len(waiting)} automated screening hit(s) for {subject_id} await a "
                                      "reviewer's decision (confirmed match or false positive)"})
        elif (any(h.decision == "confirmed_match" for h in subject_hits)
              and row.get("match_status") != "confirmed_match"):
            errors.append({"pointer": pointer, "keyword": "screening_review",
                           "message": f"a reviewer confirmed a restricted-list match for {subject_id}: "
                                      "the match status must be confirmed_match"})
    for subject_id, subject_hits in by_subject.items():
        if subject_id not in seen and any(h.decision is None for h in subject_hits):
            errors.append({"pointer": "/screening_results/results", "keyword": "screening_review",
                           "message": f"{subject_id} has automated screening hits awaiting review but no row"})
    if errors:
        raise ValidationFailed(errors, "review the automated screening hits first")
