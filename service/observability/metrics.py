"""Prometheus metrics (docs/operations.md, "Metrics, logs, readiness").

Counted where they happen, in the process where they happen:

| metric | what |
| --- | --- |
| tejun_task_completions_total{via} | human tasks completed (API `POST /api/v1/tasks/<id>/complete`, page submit) |
| tejun_http_conflicts_total | 409 answers (someone else changed it first) |
| tejun_http_errors_total{status} | 5xx answers |
| tejun_screening_runs_total{found_by} | screening runs (a task's subjects, a list import re-screening cases) |
| tejun_worker_rounds_total | timer-worker rounds |
| tejun_worker_round_seconds | how long a round took |
| tejun_timers_fired_total | cases whose due timers a worker processed |
| tejun_timer_delay_seconds | how late each was processed (now - its due time) |

Read from the database when scraped (one aggregate query each, kept for `DB_GAUGE_SECONDS`):

| tejun_queue_depth{tab} | open work items: `mine` assigned to someone, `team` waiting unassigned in a pool, |
|                        | `overdue` past their due time, `all` |
| tejun_worker_lag_seconds | how long the most overdue timer has been due (0 when none is): the workers' backlog |

With gunicorn's several workers (and the timer worker on the same host) set PROMETHEUS_MULTIPROC_DIR to an empty
folder for all of them: each process writes its counters there and `/metrics` adds them up.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

task_completions = Counter("tejun_task_completions_total", "Human tasks completed", ["via"])
http_conflicts = Counter("tejun_http_conflicts_total", "Requests answered 409 Conflict")
http_errors = Counter("tejun_http_errors_total", "Requests answered with a 5xx status", ["status"])
screening_runs = Counter("tejun_screening_runs_total", "Screening runs over a case's subjects", ["found_by"])
worker_rounds = Counter("tejun_worker_rounds_total", "Timer-worker rounds")
worker_round_seconds = Histogram("tejun_worker_round_seconds", "Duration of one timer-worker round",
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
timers_fired = Counter("tejun_timers_fired_total", "Cases whose due timers were processed")
timer_delay = Histogram("tejun_timer_delay_seconds", "Time between a timer's due time and its processing",
                        buckets=(0.5, 1, 5, 10, 30, 60, 120, 300, 900, 3600))

DB_GAUGE_SECONDS = 15.0


def timer_processed(now, due) -> None:
    """A worker fired the timers of a case that was due at `due`."""
    timers_fired.inc()
    if due is not None:
        if due.tzinfo is None:
            due = due.replace(tzinfo=now.tzinfo)
        timer_delay.observe(max(0.0, (now - due).total_seconds()))


def worker_round(seconds: float) -> None:
    worker_rounds.inc()
    worker_round_seconds.observe(seconds)
TABS = ("mine", "team", "overdue", "all")


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class DatabaseGauges:
    """Queue depth per tab and worker lag, read with two small aggregate queries at most every 15 s."""

    def __init__(self, svc):
        self.svc = svc
        self._lock = threading.Lock()
        self._at = 0.0
        self._values: tuple[dict[str, int], float] | None = None

    def _read(self) -> tuple[dict[str, int], float]:
        from sqlalchemy import case, func, select

        from .. import clock
        from ..models import Case, WorkItem

        now = clock.now()
        with self.svc.db.reader() as session:
            row = session.execute(select(
                func.count(WorkItem.id),
                func.coalesce(func.sum(case((WorkItem.assignee_id.is_not(None), 1), else_=0)), 0),
                func.coalesce(func.sum(case((WorkItem.due_at < now, 1), else_=0)), 0),
            )).one()
            oldest = session.scalar(select(func.min(Case.next_wakeup_at))
                                    .where(Case.status == "running", Case.next_wakeup_at <= now))
        total, assigned, overdue = (int(v or 0) for v in row)
        depth = {"mine": assigned, "team": total - assigned, "overdue": overdue, "all": total}
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return depth, lag

    def values(self) -> tuple[dict[str, int], float]:
        with self._lock:
            if self._values is None or time.monotonic() - self._at > DB_GAUGE_SECONDS:
                self._values = self._read()
                self._at = time.monotonic()
            return self._values

    def collect(self):
        try:
            depth, lag = self.values()
        except Exception:  # the database is down: the process counters are still worth reading
            logging.getLogger("tejun.metrics").warning("queue depth and worker lag not read", exc_info=True)
            return
        queue = GaugeMetricFamily("tejun_queue_depth", "Open work items per queue tab (whole system)",
                                  labels=["tab"])
        for tab in TABS:
            queue.add_metric([tab], depth[tab])
        yield queue
        yield GaugeMetricFamily("tejun_worker_lag_seconds", "How long the most overdue timer has been due",
                                value=lag)


def exposition(db_gauges: DatabaseGauges) -> tuple[bytes, str]:
    """The text exposition of this process's (or, in multi-process mode, every process's) metrics."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(db_gauges)
    return generate_latest(registry) + generate_latest(gauges), CONTENT_TYPE_LATEST
