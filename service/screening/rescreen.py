"""Re-screening after a list import: every running case's stored subjects against the new snapshot. New hits
join the open review when the screening form is open; otherwise a new probable or exact hit asks for a
`screening_hit` follow-up (service/followups) and the case's security officers are told."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..auth.actor import SYSTEM
from ..errors import Conflict, NotFound
from ..models import Case, ScreeningHit, ScreeningSnapshot, ScreeningSubject
from ..services import Services
from ..unit_of_work import unit_of_work
from .matching import Thresholds
from .notify import notify_officers
from .review import refresh_open_screening_form
from .rows import SERIOUS
from .runs import hit_summary, record, screen_case, snapshot_summary
from .subjects import subject_of_row


@dataclass
class RescreenReport:
    snapshot_id: int
    cases_screened: int = 0
    subjects_screened: int = 0
    new_hits: int = 0
    affected_case_ids: list[int] = field(default_factory=list)  # new probable/exact hits
    open_review_case_ids: list[int] = field(default_factory=list)  # hits added to an open screening form
    follow_up_case_ids: list[int] = field(default_factory=list)  # follow-up started now
    pending_case_ids: list[int] = field(default_factory=list)  # follow-up waits for the case
    notified_user_ids: list[int] = field(default_factory=list)
    busy_case_ids: list[int] = field(default_factory=list)


def rescreen_open_cases(svc: Services, snapshot_id: int, thresholds: Thresholds | None = None) -> RescreenReport:
    """Screen every running case's stored subjects against one (new) snapshot; follow up on new hits."""
    from ..cases.follow_up_delivery import deliver_pending
    from ..followups import request_follow_up

    report = RescreenReport(snapshot_id)
    with svc.db.reader() as session:
        snapshot = session.get(ScreeningSnapshot, snapshot_id)
        if snapshot is None:
            raise NotFound("no such snapshot")
        query = (select(Case.id).where(Case.status == "running",
                                       Case.id.in_(select(ScreeningSubject.case_id).distinct()))
                 .order_by(Case.id))
        if snapshot.organization_id is not None:
            query = query.where(Case.lead_institution_id == snapshot.organization_id)
        case_ids = list(session.scalars(query))
    for case_id in case_ids:
        for attempt in range(3):
            try:
                with unit_of_work(svc) as session:
                    _rescreen_case(session, case_id, snapshot_id, thresholds, report, request_follow_up)
                break
            except Conflict:
                if attempt == 2:
                    report.busy_case_ids.append(case_id)
    if report.follow_up_case_ids:
        delivered = deliver_pending(svc, case_ids=report.follow_up_case_ids)
        report.pending_case_ids = sorted(set(delivered.pending))
        report.follow_up_case_ids = sorted(set(delivered.delivered))
    return report


def _rescreen_case(session, case_id, snapshot_id, thresholds, report, request_follow_up) -> None:
    case = session.get(Case, case_id)
    snapshot = session.get(ScreeningSnapshot, snapshot_id)
    if case is None or case.status != "running":
        return
    stored = list(session.scalars(select(ScreeningSubject).where(ScreeningSubject.case_id == case.id)))
    subjects = [subject_of_row(row) for row in stored]
    run = screen_case(session, case, subjects, found_by="import", snapshots=[snapshot], thresholds=thresholds,
                      update_subjects=False)
    report.cases_screened += 1
    report.subjects_screened += len(subjects)
    report.new_hits += len(run.new)
    if not run.new:
        return
    serious = [h for h in run.new if h.classification in SERIOUS and h.decision is None]
    in_review = refresh_open_screening_form(session, case, {h.subject.subject_id for h in run.new})
    follow_up_note = ""
    requested = []
    if in_review:
        report.open_review_case_ids.append(case.id)
        follow_up_note = "① の照合フォームに追加されました / added to the open screening form"
    elif serious:
        by_subject: dict[str, list[ScreeningHit]] = {}
        for hit in serious:
            by_subject.setdefault(hit.subject.subject_id, []).append(hit)
        for subject_id, subject_hits in by_subject.items():
            row = request_follow_up(session, case, "screening_hit", {
                "kind": "screening_hit", "subject_id": subject_id, "subject_name": subject_hits[0].subject.name,
                "hits": [{"hit_id": h.id, "list": h.source, "list_date": snapshot.list_date.isoformat(),
                          "entry_name": h.entry_name, "score": h.score, "classification": h.classification}
                         for h in subject_hits],
            }, reason=f"new {subject_hits[0].classification} hit on {snapshot.source} {snapshot.list_date}")
            requested.append(row.id)
        report.follow_up_case_ids.append(case.id)
        follow_up_note = ("フォローアップを開始します（案件が待機中でない場合は待機後に開始） / a follow-up starts "
                          "(as soon as the case waits for one)")
    if serious:
        report.affected_case_ids.append(case.id)
        report.notified_user_ids += notify_officers(session, case, serious, follow_up_note)
    record(session, case, SYSTEM, "screening_rescreened", {
        "found_by": "import",
        "snapshot": snapshot_summary(snapshot),
        "new_hits": [hit_summary(h) for h in run.new],
        "added_to_open_form": in_review,
        "follow_up_requests": requested,
    })
