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
from ..errors import Conflict
from ..followups import deliver_pending as deliver_pending_follow_ups
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
    """Process every case that is due now (up to `limit`), then notifications; returns the case ids processed."""
    done: list[int] = []
    skip: set[int] = set()
    started = time.monotonic()
    while limit is None or len(done) < limit:
        now = clock.now()
        try:
            with unit_of_work(svc) as session:
                claimed = _claim_next(session, now, skip)
                if claimed is None:
                    break
                case_id, due = claimed
                fire_timers(svc, SYSTEM, case_id, session)
            done.append(case_id)
            metrics.timer_processed(now, due)
        except Conflict:
            # a user changed the case at the same moment: it stays due and is picked up next round
            skip.add(case_id)
        except Exception:
            log.exception("timer processing failed for case %s; retrying later", case_id)
            skip.add(case_id)
            with unit_of_work(svc) as session:
                case = session.get(Case, case_id)
                if case is not None:
                    case.next_wakeup_at = now + RETRY_AFTER
    deliver_pending_follow_ups(svc)  # screening hits / disclosure changes waiting for their case (followups)
    send_notifications(svc)
    metrics.worker_round(time.monotonic() - started)
    return done


def run_forever(svc: Services, interval: float, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    log.info("timer worker started (every %.1f s)", interval)
    from ..cases.migration import run_jobs as run_migration_jobs

    while not stop.is_set():
        processed = run_once(svc, limit=svc.settings.worker_batch)
        anchor_daily(svc)
        if processed:
            log.info("fired timers on %d case(s)", len(processed))
        migrated = run_migration_jobs(svc, limit_cases=svc.settings.worker_batch)
        if migrated:
            log.info("migration jobs: handled %d case(s)", migrated)
        if len(processed) < svc.settings.worker_batch and migrated < svc.settings.worker_batch:
            stop.wait(interval)
