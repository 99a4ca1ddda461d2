"""Screening in the procedure: the subjects of ① risk identification, their hits, reviews and re-screening.

* When the screening-results task (form `screening_results.schema.json`) becomes ready, `screen_ready_tasks`
  screens every subject of the task's draft (lead members, partner organizations, partner Co-PIs) against the
  lists in force, stores subjects and hits, and pre-fills each row of the form: lists checked, list date,
  screening date, `match_status` (`no_match`, or `possible_match` while hits wait for review) and a note
  naming the hits.
* A security officer of the lead institution reviews every hit (`review_hit`): confirmed match (with the
  relation to the listed entity) or false positive, with a reason. The decision is a case event, and the open
  form's row is updated: `match_status` / `listed_relation` / `past_affiliation_end_year` are the keys
  `derive_risk_subjects` turns into F2 (`restricted_status`) for `bpmn/risk_rubric.dmn`.
* Submitting the form is refused while a hit waits for review, or when a row contradicts a confirmed match
  (`check_screening_submission`).
* After a list import, `rescreen_open_cases` screens the subjects of every running case against the new
  snapshot. New hits join the open review when the screening task is open; otherwise a new probable or exact
  hit asks for a `screening_hit` follow-up (service/followups) and the case's security officers are notified.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..audit import chain
from ..auth.actor import SYSTEM, Actor
from ..auth.permissions import View, case_view
from ..clock import JST
from ..designer.store import model_hash
from ..errors import Conflict, Forbidden, InvalidRequest, NotFound, ValidationFailed
from ..models import (
    Case,
    Membership,
    Organization,
    ScreeningEntry,
    ScreeningHit,
    ScreeningSnapshot,
    ScreeningSubject,
    User,
    WorkItem,
)
from ..notifications import notify
from ..observability import metrics
from ..services import Services
from ..unit_of_work import unit_of_work
from . import index_store
from .matching import CLASS_RANK, EntryIndex, Match, Thresholds
from .sources import SOURCES

log = logging.getLogger("tejun.screening")
SCREENING_FORM = "screening_results.schema.json"
DECISIONS = ("confirmed_match", "false_positive")
RELATIONS = ("current_affiliation", "current_funding", "past_affiliation", "ties_to_listed_researchers")
# the most serious relation first: a subject's row shows the worst confirmed one
RELATION_ORDER = {r: i for i, r in enumerate(RELATIONS)}
NOTE_PREFIX = "[自動スクリーニング] "
SERIOUS = ("exact", "probable")


def today() -> date:
    return clock.now().astimezone(JST).date()


# -- the lists in force and their indexes ------------------------------------------------------------------
def current_snapshots(session: Session, lead_institution_id: int | None) -> list[ScreeningSnapshot]:
    """The newest snapshot of every published list, and of the lead institution's own lists."""
    owners = ScreeningSnapshot.organization_id.is_(None)
    if lead_institution_id is not None:
        owners = owners | (ScreeningSnapshot.organization_id == lead_institution_id)
    newest: dict[tuple[str, int | None], ScreeningSnapshot] = {}
    for snapshot in session.scalars(select(ScreeningSnapshot).where(owners).order_by(ScreeningSnapshot.id)):
        newest[(snapshot.source, snapshot.organization_id)] = snapshot
    return sorted(newest.values(), key=lambda s: (s.source, s.id))


_indexes: OrderedDict[int, EntryIndex] = OrderedDict()
_indexes_lock = threading.Lock()
INDEX_CACHE_SIZE = 16


def index_of(session: Session, snapshot_id: int) -> EntryIndex:
    """The search index of one snapshot: built once at import and stored (index_store.py), loaded by each
    process on first use and kept (snapshots never change); built here only for a snapshot stored without."""
    with _indexes_lock:
        if snapshot_id in _indexes:
            _indexes.move_to_end(snapshot_id)
            return _indexes[snapshot_id]
    index = index_store.load(session, snapshot_id)
    if index is None:
        log.warning("snapshot %s has no stored screening index: building it in this process "
                    "(flask --app wsgi screening build-indexes stores it)", snapshot_id)
        index = index_store.build(session, snapshot_id)
    with _indexes_lock:
        _indexes[snapshot_id] = index
        while len(_indexes) > INDEX_CACHE_SIZE:
            _indexes.popitem(last=False)
    return index


# -- subjects ---------------------------------------------------------------------------------------------
@dataclass
class Subject:
    subject_id: str
    subject_type: str  # person | organization
    name: str
    aliases: list[dict] = field(default_factory=list)  # {"label", "name"}
    affiliations: list[dict] = field(default_factory=list)  # {"label", "name", "relation", "end_year"}

    def names(self) -> list[tuple[str, str]]:
        return [("name", self.name)] + [(a["label"], a["name"]) for a in self.aliases]

    def add_alias(self, label: str, name) -> None:
        name = str(name or "").strip()
        if name and name != self.name and all(a["name"] != name for a in self.aliases):
            self.aliases.append({"label": label, "name": name})


def _year(value) -> int | None:
    try:
        return int(str(value)[:4])
    except (TypeError, ValueError):
        return None


def affiliations_of(disclosure: dict, on: date) -> list[dict]:
    """Organizations a person's disclosure ties them to, with the relation each would mean if listed."""
    found: list[dict] = []

    def add(label, name, relation, end_year=None):
        name = str(name or "").strip()
        if name and not any(a["name"] == name and a["relation"] == relation for a in found):
            found.append({"label": label, "name": name, "relation": relation, "end_year": end_year})

    identity = disclosure.get("identity") or {}
    add("affiliation", identity.get("affiliation"), "current_affiliation")
    for item in disclosure.get("appointments") or []:
        end = item.get("end_date")
        current = item.get("current") or not end or str(end) >= on.isoformat()
        add("appointment", item.get("institution"), "current_affiliation" if current else "past_affiliation",
            None if current else _year(end))
    for item in disclosure.get("education") or []:
        end_year = _year(item.get("year_to"))
        current = end_year is None or end_year >= on.year
        add("education", item.get("institution"), "current_affiliation" if current else "past_affiliation",
            None if current else end_year)
    for item in disclosure.get("research_funding") or []:
        add("funding", item.get("funder"), "current_funding")
    for item in disclosure.get("non_research_support") or []:
        add("support", item.get("provider"), "current_funding")
    for item in disclosure.get("talent_programs") or []:
        add("talent_program", item.get("sponsor"), "ties_to_listed_researchers")
    return found


def subjects_from_task(session: Session, data: dict) -> list[Subject]:
    """The subjects of a screening task: its draft's rows, with every other name the case knows for them."""
    rows = ((data.get("screening_results") or {}).get("results")) or []
    members: dict[str, dict] = {}
    partners: dict[str, dict] = {}
    for member in data.get("identification_members") or data.get("members") or []:
        members[str(member.get("member_id"))] = member
    for partner in data.get("identification_partners") or data.get("partners") or []:
        partners[str(partner.get("partner_id"))] = partner
        for member in partner.get("members") or []:
            members[str(member.get("member_id"))] = member
    disclosures: dict[str, dict] = {}
    profiles: dict[str, dict] = {}
    for record in (data.get("disclosures") or []) + (data.get("new_disclosures") or []):
        disclosures[str(record.get("member_id"))] = record.get("disclosure") or {}
    for result in (data.get("partner_results") or []) + (data.get("new_partner_results") or []):
        profiles[str(result.get("partner_id"))] = (result.get("due_diligence") or {}).get("institution_profile") or {}
        for record in result.get("disclosures") or []:
            disclosures[str(record.get("member_id"))] = record.get("disclosure") or {}
    on = today()
    subjects = []
    for row in rows:
        subject_id = str(row.get("subject_id") or "").strip()
        if not subject_id:
            continue
        kind = "organization" if row.get("subject_type") == "organization" else "person"
        subject = Subject(subject_id, kind, str(row.get("subject_name") or "").strip())
        if kind == "person":
            member = members.get(subject_id) or {}
            disclosure = disclosures.get(subject_id) or {}
            identity = disclosure.get("identity") or {}
            subject.name = subject.name or str(member.get("name") or identity.get("name") or subject_id)
            subject.add_alias("name", member.get("name"))
            subject.add_alias("name_latin", member.get("name_latin"))
            subject.add_alias("disclosed_name", identity.get("name"))
            subject.add_alias("disclosed_name_latin", identity.get("name_latin"))
            subject.affiliations = affiliations_of(disclosure, on)
        else:
            partner = partners.get(subject_id) or {}
            profile = profiles.get(subject_id) or {}
            subject.name = subject.name or str(partner.get("name") or profile.get("name_native") or subject_id)
            subject.add_alias("name", partner.get("name"))
            subject.add_alias("name_latin", partner.get("name_latin"))
            subject.add_alias("name_native", profile.get("name_native"))
            subject.add_alias("name_latin", profile.get("name_latin"))
            organization = session.get(Organization, partner["organization_id"]) if _int(
                partner.get("organization_id")) else None
            if organization is not None:
                subject.add_alias("registered_name", organization.name)
                subject.add_alias("registered_name_en", organization.name_en)
        subjects.append(subject)
    return subjects


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _subject_of_row(row: ScreeningSubject) -> Subject:
    return Subject(row.subject_id, row.subject_type, row.name, list(row.aliases or []), list(row.affiliations or []))


# -- screening ----------------------------------------------------------------------------------------------
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


# -- the form's rows ---------------------------------------------------------------------------------------
def _note(hits: list[ScreeningHit], snapshots: list[ScreeningSnapshot]) -> str:
    lists = "、".join(f"{SOURCES[s.source].title if s.source in SOURCES else s.source} {s.list_date.isoformat()}"
                     for s in snapshots)
    if not hits:
        return f"{NOTE_PREFIX}該当候補なし（{lists}）"
    parts = []
    for hit in hits[:5]:
        state = {"confirmed_match": "該当と確認", "false_positive": "誤検知"}.get(hit.decision or "", "未審査")
        parts.append(f"{hit.entry_name}（{hit.classification} {hit.score:g}、{state}）")
    more = f" ほか{len(hits) - 5}件" if len(hits) > 5 else ""
    return f"{NOTE_PREFIX}候補{len(hits)}件: " + "; ".join(parts) + more + f"（{lists}）"


def apply_to_row(row: dict, hits: list[ScreeningHit], snapshots: list[ScreeningSnapshot], on: date) -> None:
    """Set a form row's screening keys (those F2 reads) from the subject's hits and their reviews."""
    known = {s.code for s in SOURCES.values()}
    checked = [c for c in (row.get("lists_checked") or []) if c not in known]
    row["lists_checked"] = list(dict.fromkeys([s.source for s in snapshots] + checked)) or ["other"]
    if snapshots:
        row["list_snapshot_date"] = min(s.list_date for s in snapshots).isoformat()
    row["screened_on"] = on.isoformat()
    confirmed = [h for h in hits if h.decision == "confirmed_match"]
    if confirmed:
        worst = min(confirmed, key=lambda h: RELATION_ORDER.get(h.listed_relation or "", 99))
        row["match_status"] = "confirmed_match"
        row["listed_relation"] = worst.listed_relation or "current_affiliation"
        years = [h.past_affiliation_end_year for h in confirmed
                 if h.listed_relation == "past_affiliation" and h.past_affiliation_end_year]
        if row["listed_relation"] == "past_affiliation" and years:
            row["past_affiliation_end_year"] = max(years)
        else:
            row.pop("past_affiliation_end_year", None)
    elif any(h.decision is None for h in hits):
        row["match_status"] = "possible_match"
        row["listed_relation"] = "none"
        row.pop("past_affiliation_end_year", None)
    else:
        row["match_status"] = "no_match"
        row["listed_relation"] = "none"
        row.pop("past_affiliation_end_year", None)
    notes = row.get("notes") or ""
    if not notes or notes.startswith(NOTE_PREFIX):
        row["notes"] = _note(hits, snapshots)[:4000]


def _apply_to_rows(rows: list[dict], hits: list[ScreeningHit], snapshots, subject_ids: set[str] | None) -> None:
    by_subject: dict[str, list[ScreeningHit]] = {}
    for hit in hits:
        by_subject.setdefault(hit.subject.subject_id, []).append(hit)
    on = today()
    for row in rows:
        subject_id = str(row.get("subject_id"))
        if subject_ids is None or subject_id in subject_ids:
            apply_to_row(row, by_subject.get(subject_id, []), snapshots, on)


def _record(session: Session, case: Case, actor: Actor, action: str, data: dict, task_id: str | None = None):
    return chain.append(session, stream=chain.case_stream(case.id), case_id=case.id, action=action,
                        actor_id=actor.user_id, actor_name=actor.username, task_id=task_id,
                        model_hash=model_hash(session, case.model_version_id), data=data)


def _hit_summary(hit: ScreeningHit) -> dict:
    return {"hit_id": hit.id, "subject_id": hit.subject.subject_id, "subject_name": hit.subject.name,
            "source": hit.source, "list_date": (hit.evidence.get("list") or {}).get("list_date"),
            "entry_key": hit.entry_key, "entry_name": hit.entry_name, "score": hit.score,
            "classification": hit.classification, "decision": hit.decision,
            "carried_from": hit.carried_from_id}


def _snapshot_summary(snapshot: ScreeningSnapshot) -> dict:
    return {"snapshot_id": snapshot.id, "source": snapshot.source, "list_date": snapshot.list_date.isoformat(),
            "checksum": snapshot.checksum, "row_count": snapshot.row_count}


# -- hooks called by the use cases (service/task_hooks.py) ---------------------------------------------------
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
            _record(session, case, SYSTEM, "screening_failed", {"error": str(exc)[:500]}, task.task_id)


def _screen_task(session: Session, case: Case, task) -> None:
    subjects = subjects_from_task(session, task.data)
    snapshots = current_snapshots(session, case.lead_institution_id)
    if not snapshots:
        _record(session, case, SYSTEM, "screening_skipped",
                {"reason": "no restricted-party list has been imported", "subjects": len(subjects)}, task.task_id)
        return
    run = screen_case(session, case, subjects, found_by="task", snapshots=snapshots)
    hits = current_hits(session, case, [s.subject_id for s in subjects])
    _apply_to_rows(task.data["screening_results"]["results"], hits, snapshots, None)
    _record(session, case, SYSTEM, "screening_performed", {
        "found_by": "task",
        "snapshots": [_snapshot_summary(s) for s in snapshots],
        "subjects": [{"subject_id": s.subject_id, "subject_type": s.subject_type, "name": s.name} for s in subjects],
        "hits": [_hit_summary(h) for h in hits],
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


# -- reviewing ----------------------------------------------------------------------------------------------
def may_review(actor: Actor, case: Case) -> bool:
    return actor.is_system or (case.lead_institution_id is not None
                               and actor.has("security_officer", case.lead_institution_id))


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
        _record(session, case, actor, "screening_hit_reviewed", {
            **_hit_summary(hit), "decision": decision, "previous_decision": previous, "reason": hit.reason,
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
    from ..cases.pipeline import CaseChange, restore_flow

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
    _apply_to_rows(rows, hits, snapshots, subject_ids)
    if isinstance(item.draft, dict) and isinstance((item.draft.get("screening_results") or {}).get("results"), list):
        draft = copy.deepcopy(item.draft)
        _apply_to_rows(draft["screening_results"]["results"], hits, snapshots, subject_ids)
        item.draft = draft
    if "results" in results:
        change.set_task_data(item.task_id, {"screening_results": results})
    case.updated_at = change.at  # the form changed under whoever has it open: their next submit must reload
    return True


# -- reading ------------------------------------------------------------------------------------------------
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


# -- re-screening after an import -----------------------------------------------------------------------------
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


def officers_of(session: Session, case: Case) -> list[int]:
    if case.lead_institution_id is None:
        return []
    return list(session.scalars(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == case.lead_institution_id, Membership.role == "security_officer",
               User.active.is_(True))
    ))


def _notify_officers(session: Session, case: Case, hits: list[ScreeningHit], follow_up: str) -> list[int]:
    users = officers_of(session, case)
    if not users or not hits:
        return []
    locales = dict(session.execute(select(User.id, User.locale).where(User.id.in_(users))).all())
    names = "、".join(dict.fromkeys(f"{h.subject.subject_id} {h.subject.name}" for h in hits))
    entries = "; ".join(dict.fromkeys(
        f"{h.entry_name} ({SOURCES[h.source].title_en if h.source in SOURCES else h.source}, "
        f"{h.classification} {h.score:g})" for h in hits))
    texts = {
        "ja": (f"{case.reference}: 制限リストの新たな該当候補（{names}）",
               f"{entries}\n{follow_up}\n審査してください: /screening/cases/{case.id}"),
        "en": (f"{case.reference}: new restricted-list hit ({names})",
               f"{entries}\n{follow_up}\nPlease review: /screening/cases/{case.id}"),
    }
    key = "screening_hit:" + ",".join(str(h.id) for h in sorted(hits, key=lambda h: h.id))
    for locale in ("ja", "en"):
        group = [u for u in users if (locales.get(u) == "en") == (locale == "en")]
        title, body = texts[locale]
        notify(session, user_ids=group, kind="screening_hit", title=title, body=body, case_id=case.id,
               url=f"/screening/cases/{case.id}", dedupe_key=key[:120])
    return users


def rescreen_open_cases(svc: Services, snapshot_id: int, thresholds: Thresholds | None = None) -> RescreenReport:
    """Screen every running case's stored subjects against one (new) snapshot; follow up on new hits."""
    from ..followups import deliver_pending, request_follow_up

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
    subjects = [_subject_of_row(row) for row in stored]
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
        report.notified_user_ids += _notify_officers(session, case, serious, follow_up_note)
    _record(session, case, SYSTEM, "screening_rescreened", {
        "found_by": "import",
        "snapshot": _snapshot_summary(snapshot),
        "new_hits": [_hit_summary(h) for h in run.new],
        "added_to_open_form": in_review,
        "follow_up_requests": requested,
    })


def snapshots_overview(session: Session, actor: Actor = SYSTEM) -> list[ScreeningSnapshot]:
    """Imported snapshots, newest first: the published lists, and an institution's own lists only for the people
    of that institution (and auditors of every case, and the system)."""
    query = select(ScreeningSnapshot).order_by(ScreeningSnapshot.id.desc())
    if not actor.is_system and not any(g.role == "auditor" and g.scope == "all" for g in actor.grants):
        # by role in that institution (its office), not by any membership there
        query = query.where(ScreeningSnapshot.organization_id.is_(None) | ScreeningSnapshot.organization_id.in_(
            actor.orgs_with("security_officer", "institution_admin")))
    return list(session.scalars(query))
