"""The timer worker: finds cases whose next timer is due, fires it, and lets the engine run on.

Any number of workers may run against one PostgreSQL database: each case is claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` for the length of its own transaction, so two workers never process
the same case, and a web request changing the case meanwhile loses or wins on the case's version.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from .. import clock
from ..auth.actor import SYSTEM
from ..cases.commands import fire_timers
from ..cases.follow_up_delivery import deliver_pending as deliver_pending_follow_ups
from ..errors import Conflict
from ..models import Case
from ..observability import metrics
from ..services import Services
from ..unit_of_work import unit_of_work
from .anchors import anchor_daily
from .notifications import send_notifications

log = logging.getLogger("tejun.worker")
RETRY_AFTER = timedelta(minutes=5)


def _claim_next(session, now, skip: set[int]):
    query = (
        select(Case.id, Case.next_wakeup_at)
        .where(Case.status == "running", Case.next_wakeup_at <= now, Case.id.not_in(skip or {0}))
        .order_by(Case.next_wakeup_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).first()


def run_once(svc: Services, limit: int | None = None) -> list[int]:
    """Process every case that is due now (up to `limit`), then notifications; returns the case ids processed.

    A case whose timers fail is postponed by RETRY_AFTER and the round goes on with the others; when no case
    could even be claimed (the database refused), the round ends and the next one tries again.
    """
    done: list[int] = []
    skip: set[int] = set()
    started = time.monotonic()
    while limit is None or len(done) < limit:
        now = clock.now()
        case_id: int | None = None
        try:
            with unit_of_work(svc) as session:
                claimed = _claim_next(session, now, skip)
                if claimed is None:
                    break
                case_id, due = claimed
                fire_timers(session, svc, SYSTEM, case_id)
            done.append(case_id)
            metrics.timer_processed(now, due)
        except Conflict:
            if case_id is None:
                log.warning("no due case could be claimed now; the next round tries again")
                break
            # a user changed the case at the same moment: it stays due and is picked up next round
            skip.add(case_id)
        except Exception:
            if case_id is None:
                log.exception("claiming a due case failed; the next round tries again")
                break
            log.exception("timer processing failed for case %s; retrying later", case_id)
            skip.add(case_id)
            _postpone(svc, case_id, now + RETRY_AFTER)
    deliver_pending_follow_ups(svc)  # screening hits / disclosure changes waiting for their case (followups)
    send_notifications(svc)
    metrics.worker_round(time.monotonic() - started)
    return done


def _postpone(svc: Services, case_id: int, until) -> None:
    """Move a failing case's wake-up later, so that it does not block the queue; a failure here is logged only."""
    try:
        with unit_of_work(svc) as session:
            case = session.get(Case, case_id)
            if case is not None:
                case.next_wakeup_at = until
    except Exception:
        log.exception("could not postpone case %s; it stays due", case_id)


def purge_login_throttles(svc: Services) -> int:
    """Forget sign-in throttle rows that no longer hold anything back (service.auth.throttle.forget_expired)."""
    from ..auth.throttle import forget_expired

    try:
        with unit_of_work(svc) as session:
            purged = forget_expired(session, svc.settings.login_ip_window_seconds)
    except Exception:
        log.exception("purging the sign-in throttle failed; trying again next round")
        return 0
    if purged:
        log.info("forgot %d expired sign-in throttle row(s)", purged)
    return purged


def run_daily_jobs(svc: Services) -> None:
    """Jobs that look after themselves (each does its work only when it is due): the audit anchor, the purge."""
    anchor_daily(svc)
    purge_login_throttles(svc)


def run_round(svc: Services, limit: int | None = None) -> tuple[list[int], int]:
    """One round of everything a worker does: due timers (and notifications), the daily jobs, migration jobs.

    `run_forever` repeats it; `flask --app wsgi worker --once` (for cron) runs it once. Returns the case ids
    whose timers were processed and the number of cases the migration jobs handled.
    """
    from ..cases.migration import run_jobs as run_migration_jobs

    processed = run_once(svc, limit=limit)
    run_daily_jobs(svc)
    if processed:
        log.info("fired timers on %d case(s)", len(processed))
    migrated = run_migration_jobs(svc, limit_cases=limit)
    if migrated:
        log.info("migration jobs: handled %d case(s)", migrated)
    return processed, migrated


def run_forever(svc: Services, interval: float, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    log.info("timer worker started (every %.1f s)", interval)
    while not stop.is_set():
        processed, migrated = run_round(svc, limit=svc.settings.worker_batch)
        if len(processed) < svc.settings.worker_batch and migrated < svc.settings.worker_batch:
            stop.wait(interval)
