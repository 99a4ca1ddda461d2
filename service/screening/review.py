"""Reviewing screening hits (the lead institution's security officers) and reading a case's screening: use
cases and reads. A decision is a case event and rewrites the open screening form through the case pipeline."""

from __future__ import annotations

import copy

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import SYSTEM, Actor
from ..auth.permissions import View, case_view, full_view_clause, may_review
from ..cases.pipeline import CaseChange, restore_flow
from ..errors import Forbidden, InvalidRequest, NotFound
from ..models import Case, Organization, ScreeningHit, ScreeningSubject, WorkItem
from ..services import Services
from ..unit_of_work import unit_of_work
from .lists import current_snapshots
from .rows import DECISIONS, RELATIONS, SCREENING_FORM, apply_to_rows
from .runs import current_hits, hit_summary, record

OPEN_CASES_LIMIT = 200


def review_hit(
    svc: Services,
    actor: Actor,
    hit_id: int,
    *,
    decision: str,
    reason: str,
    listed_relation: str | None = None,
    past_affiliation_end_year: int | None = None,
) -> ScreeningHit:
    """A security officer decides on a hit; the decision is a case event and updates an open screening form."""
    if decision not in DECISIONS:
        raise InvalidRequest(f"decision must be one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("say why: a reason is recorded with every decision")
    with unit_of_work(svc) as session:
        hit = session.get(ScreeningHit, hit_id)
        case = session.get(Case, hit.case_id) if hit is not None else None
        if case is None or case_view(actor, case) < View.PART:
            raise NotFound("no such screening hit")
        if not may_review(actor, case):
            raise Forbidden("only the lead institution's security officers review screening hits")
        if decision == "confirmed_match":
            listed_relation = listed_relation or hit.suggested_relation or "current_affiliation"
            if listed_relation not in RELATIONS:
                raise InvalidRequest(f"listed_relation must be one of {', '.join(RELATIONS)}")
            if listed_relation == "past_affiliation":
                past_affiliation_end_year = past_affiliation_end_year or hit.suggested_end_year
                if not past_affiliation_end_year:
                    raise InvalidRequest("a past affiliation needs the year it ended")
            else:
                past_affiliation_end_year = None
        else:
            listed_relation, past_affiliation_end_year = None, None
        now = clock.now()
        previous = hit.decision
        hit.decision, hit.reason = decision, reason[:4000]
        hit.listed_relation, hit.past_affiliation_end_year = listed_relation, past_affiliation_end_year
        hit.reviewer_id, hit.reviewer_name, hit.reviewed_at = actor.user_id, actor.username, now
        hit.carried_from_id = None
        record(session, case, actor, "screening_hit_reviewed", {
            **hit_summary(hit), "decision": decision, "previous_decision": previous, "reason": hit.reason,
            "listed_relation": listed_relation, "past_affiliation_end_year": past_affiliation_end_year,
            "evidence": hit.evidence,
        })
        session.flush()
        refresh_open_screening_form(session, case, {hit.subject.subject_id})
        return hit


def refresh_open_screening_form(session: Session, case: Case, subject_ids: set[str],
                                svc: Services | None = None) -> bool:
    """Rewrite the open screening form's rows of these subjects (task data and saved draft). True if open.

    The task data changes through the case pipeline (`CaseChange.set_task_data`): recorded as
    `task_data_changed`, so a replay fills the form the same way."""
    item = session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.form == SCREENING_FORM)
                           .limit(1)).first()
    if item is None:
        return False
    time_limit = svc.settings.script_time_limit if svc is not None else 1.0
    change = CaseChange(session, case, SYSTEM, restore_flow(session, case, time_limit))
    task = change.flow.human_task(item.task_id)
    snapshots = current_snapshots(session, case.lead_institution_id)
    hits = current_hits(session, case, sorted(subject_ids))
    results = copy.deepcopy(task.data.get("screening_results") or {})
    rows = results.get("results") or []
    apply_to_rows(rows, hits, snapshots, subject_ids)
    if isinstance(item.draft, dict) and isinstance((item.draft.get("screening_results") or {}).get("results"), list):
        draft = copy.deepcopy(item.draft)
        apply_to_rows(draft["screening_results"]["results"], hits, snapshots, subject_ids)
        item.draft = draft
    if "results" in results:
        change.set_task_data(item.task_id, {"screening_results": results})
    case.updated_at = change.at  # the form changed under whoever has it open: their next submit must reload
    return True


def case_screening(session: Session, actor: Actor, case_id: int) -> dict:
    """A case's subjects, their hits on the lists in force (best first) and those lists."""
    case = session.get(Case, case_id)
    if case is None or case_view(actor, case) < View.FULL:
        raise NotFound("no such case")
    snapshots = current_snapshots(session, case.lead_institution_id)
    hits = current_hits(session, case)
    if not sees_own_lists(actor, case):
        snapshots = [s for s in snapshots if s.organization_id is None]
        hits = [_without_list_details(h) if h.source == "institution_list" else h for h in hits]
    subjects = list(session.scalars(select(ScreeningSubject).where(ScreeningSubject.case_id == case.id)
                                    .order_by(ScreeningSubject.id)))
    by_subject: dict[int, list[ScreeningHit]] = {}
    for hit in hits:
        by_subject.setdefault(hit.subject_ref_id, []).append(hit)
    return {
        "case": case,
        "may_review": may_review(actor, case),
        "snapshots": snapshots,
        "subjects": [{"subject": s, "hits": by_subject.get(s.id, [])} for s in subjects],
        "open_hits": sum(1 for h in hits if h.decision is None),
    }


def sees_own_lists(actor: Actor, case: Case) -> bool:
    """An institution's own restricted-party list is that institution's: its staff, auditors of the case and
    the system see its entries and the evidence of a hit on it; the FA sees that the subject matched the
    institution's own list and the institution's decision (relation, reason), not the entry or the list."""
    if actor.is_system or any(g.role == "auditor" for g in actor.grants):
        return case_view(actor, case) >= View.FULL
    return case.lead_institution_id is not None and any(
        actor.has(role, case.lead_institution_id) for role in ("security_officer", "institution_admin"))


class _MaskedHit:
    """A hit on an institution's own list as the FA sees it: everything of the entry withheld."""

    def __init__(self, hit: ScreeningHit):
        for name in ("id", "case_id", "subject_ref_id", "snapshot_id", "source", "score", "classification",
                     "suggested_relation", "suggested_end_year", "found_by", "found_at", "decision",
                     "listed_relation", "past_affiliation_end_year", "reason", "reviewer_id", "reviewer_name",
                     "reviewed_at", "carried_from_id", "subject"):
            setattr(self, name, getattr(hit, name))
        self.entry_id, self.entry_key, self.content_hash = None, "", ""
        self.entry_name = "—"
        subject = (hit.evidence or {}).get("subject") or {}
        self.evidence = {"list": {"list_date": None, "countries": [], "programs": []}, "subject": subject,
                         "entry": {"name": "—", "label": "", "form": "", "normalizations": []}, "withheld": True}


def _without_list_details(hit: ScreeningHit) -> _MaskedHit:
    return _MaskedHit(hit)




def open_hits(session: Session, actor: Actor, limit: int = OPEN_CASES_LIMIT) -> tuple[list[dict], dict]:
    """Running cases the actor sees in full with hits nobody decided yet (most recently changed first), as rows
    {case, open_hits, may_review}, and their lead institutions by id."""
    candidates = session.scalars(
        select(Case).where(full_view_clause(actor), Case.status == "running",
                           exists().where(ScreeningHit.case_id == Case.id, ScreeningHit.decision.is_(None)))
        .order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit))
    rows = []
    for case in candidates:
        waiting = sum(1 for hit in current_hits(session, case) if hit.decision is None)
        if waiting:
            rows.append({"case": case, "open_hits": waiting, "may_review": may_review(actor, case)})
    return rows, organizations(session, {r["case"].lead_institution_id for r in rows})


def organizations(session: Session, ids) -> dict[int, Organization]:
    """Organizations by id (the pages name lists' owners and cases' institutions)."""
    return {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(set(ids) or {0})))}
