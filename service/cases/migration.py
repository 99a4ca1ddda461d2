"""Moving running cases to another version of their model set: preview, migrate one, migrate many.

Each case moves in its own transaction and its own `case_migrated` event (carrying both versions), so a
bulk move that is interrupted leaves every case either fully on the old version or fully on the new one.
Bulk moves are jobs worked through by the timer worker, which records progress after every case.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import SYSTEM, Actor
from ..auth.permissions import may_design
from ..designer.store import specs_for
from ..engine import migration as engine_migration
from ..errors import N_, Conflict, Forbidden, InvalidRequest, NotFound
from ..models import Case, MigrationJob, ModelVersion, WorkItem
from ..services import Services
from ..unit_of_work import unit_of_work
from .pipeline import CaseChange, restore_flow

log = logging.getLogger("tejun.migration")
MAX_CASES_PER_JOB = 10_000


def _target(session: Session, case: Case, version_id: int) -> ModelVersion:
    target = session.get(ModelVersion, version_id)
    if target is None:
        raise NotFound(N_("no such model version"))
    if target.set_name != case.model_version.set_name:
        raise InvalidRequest(N_("a case can only move to another version of its own model set"))
    return target


def preview_case(svc: Services, session: Session, case: Case, version_id: int) -> dict:
    """What migrating `case` to the version would change, and whether it can (with the reasons)."""
    target = _target(session, case, version_id)
    if case.status == "completed":
        return {"case_id": case.id, "reference": case.reference, "can_migrate": False,
                "reasons": ["the case is completed"], "reset": [], "changed": [], "added": [], "removed": []}
    if case.model_version_id == target.id:
        return {"case_id": case.id, "reference": case.reference, "can_migrate": False,
                "reasons": ["the case already runs on this version"], "reset": [], "changed": [], "added": [],
                "removed": []}
    try:
        new_spec, new_subs = specs_for(session, target.id, case.process_id)
    except LookupError:
        return {"case_id": case.id, "reference": case.reference, "can_migrate": False,
                "reasons": [f"the new version has no process '{case.process_id}'"], "reset": [], "changed": [],
                "added": [], "removed": []}
    flow = restore_flow(session, case, svc.settings.script_time_limit)
    plan, _diffs = engine_migration.plan(flow, new_spec, new_subs)
    return {"case_id": case.id, "reference": case.reference, **plan.as_dict()}


def preview(svc: Services, actor: Actor, case_ids: list[int], version_id: int) -> list[dict]:
    if not may_design(actor):
        raise Forbidden(N_("only process designers may migrate cases"))
    with svc.db.reader() as session:
        found = []
        for case_id in case_ids:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(N_("no case %(case)s"), params={"case": case_id})
            found.append(preview_case(svc, session, case, version_id))
        return found


def migrate_case(svc: Services, actor: Actor, case_id: int, version_id: int) -> dict:
    """Move one case; Conflict (with the reasons) when it cannot move. One transaction, one event."""
    if not (actor.is_system or may_design(actor)):
        raise Forbidden(N_("only process designers may migrate cases"))
    with unit_of_work(svc) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(N_("no such case"))
        target = _target(session, case, version_id)
        if case.status == "completed":
            raise Conflict(N_("the case has ended"))
        if case.model_version_id == target.id:
            raise Conflict(N_("the case already runs on this version"))
        try:
            new_spec, new_subs = specs_for(session, target.id, case.process_id)
        except LookupError:
            raise Conflict(N_("the new version has no process '%(process)s'"),
                           params={"process": case.process_id}) from None
        change = CaseChange.of(session, svc, case, actor)
        plan, diffs = engine_migration.plan(change.flow, new_spec, new_subs)
        if not plan.can_migrate:
            raise Conflict("; ".join(plan.reasons), reasons=plan.reasons)
        old = case.model_version
        # work items are rebuilt from the new definitions (forms, titles, lanes); who holds what is kept
        held = {
            item.task_id: (item.assignee_id, item.claimed_at, item.draft, item.draft_saved_at, item.draft_by_id)
            for item in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id))
        }
        session.execute(delete(WorkItem).where(WorkItem.case_id == case.id))
        case.model_version_id = target.id
        change.record("case_migrated", data={
            "from_version_id": old.id, "to_version_id": target.id, "from_hash": old.content_hash,
            "to_hash": target.content_hash, "reset": plan.reset, "removed": plan.removed,
        })
        change.run(lambda f: engine_migration.apply(f, new_spec, new_subs, diffs))
        session.flush()
        for item in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.task_id.in_(held))):
            item.assignee_id, item.claimed_at, item.draft, item.draft_saved_at, item.draft_by_id = held[item.task_id]
        return {"case_id": case.id, "reference": case.reference, "status": case.status, **plan.as_dict()}


def request_bulk(svc: Services, actor: Actor, case_ids: list[int], version_id: int) -> int:
    """Queue a bulk migration (the worker does it); the preview's prediction is recorded with the job."""
    if not may_design(actor):
        raise Forbidden(N_("only process designers may migrate cases"))
    case_ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not case_ids:
        raise InvalidRequest(N_("choose at least one case"))
    if len(case_ids) > MAX_CASES_PER_JOB:
        raise InvalidRequest(N_("at most %(count)s cases per migration"), params={"count": MAX_CASES_PER_JOB})
    predicted = {str(p["case_id"]): p["can_migrate"] for p in preview(svc, actor, case_ids, version_id)}
    with unit_of_work(svc) as session:
        job = MigrationJob(target_version_id=version_id, status="queued", case_ids=case_ids, predicted=predicted,
                           results={}, total=len(case_ids), done=0, requested_by_id=actor.user_id,
                           created_at=clock.now())
        session.add(job)
        session.flush()
        return job.id


def run_jobs(svc: Services, limit_cases: int | None = None) -> int:
    """Work through queued migration jobs, one case per transaction; returns how many cases were handled.

    Progress is saved after each case, so a worker stopped half-way resumes where it was.
    """
    handled = 0
    while limit_cases is None or handled < limit_cases:
        with unit_of_work(svc) as session:
            job = session.scalars(
                select(MigrationJob).where(MigrationJob.status.in_(("queued", "running")))
                .order_by(MigrationJob.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if job is None:
                return handled
            if job.status == "queued":
                job.status, job.started_at = "running", clock.now()
            pending = [cid for cid in job.case_ids if str(cid) not in (job.results or {})]
            if not pending:
                job.status, job.finished_at = "done", clock.now()
                continue
            job_id, case_id, version_id = job.id, pending[0], job.target_version_id
        outcome = _migrate_for_job(svc, case_id, version_id)
        with unit_of_work(svc) as session:
            job = session.get(MigrationJob, job_id, with_for_update=True)
            job.results = {**(job.results or {}), str(case_id): outcome}
            job.done = len(job.results)
            if job.done >= job.total:
                job.status, job.finished_at = "done", clock.now()
        handled += 1
    return handled


def _migrate_for_job(svc: Services, case_id: int, version_id: int) -> dict:
    try:
        migrate_case(svc, SYSTEM, case_id, version_id)
        return {"result": "migrated"}
    except Conflict as exc:
        return {"result": "refused", "detail": exc.detail}
    except NotFound as exc:
        return {"result": "skipped", "detail": exc.detail}
    except Exception as exc:  # a model that fails on the new version must not stop the job
        log.exception("migrating case %s failed", case_id)
        return {"result": "failed", "detail": str(exc)[:500]}


def job_progress(session: Session, job_id: int) -> dict:
    job = session.get(MigrationJob, job_id)
    if job is None:
        raise NotFound(N_("no such migration"))
    counts: dict[str, int] = {}
    for outcome in (job.results or {}).values():
        counts[outcome["result"]] = counts.get(outcome["result"], 0) + 1
    return {"id": job.id, "status": job.status, "total": job.total, "done": job.done, "counts": counts,
            "results": job.results, "predicted": job.predicted, "target_version_id": job.target_version_id}
