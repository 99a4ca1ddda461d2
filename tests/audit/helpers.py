"""Helpers for the audit tests: cases with a history, tampering behind tejun's back, checking one stream."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select, text

from service.cases import commands
from service.eventlog.anchors import load_anchors
from service.eventlog.chain import case_stream
from service.eventlog.verify import verify
from service.models import Event, EventStream, WorkItem
from tests.conftest import model_set

EVENTS = Event.__table__
HEADS = EventStream.__table__


@contextmanager
def tampering(svc):
    """A transaction that changes the event log as an intruder with database access would. On PostgreSQL
    the append-only triggers are bypassed for this transaction only (the test connection is a superuser)."""
    with svc.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn


def items(svc, case_id: int) -> list[WorkItem]:
    with svc.db.reader() as session:
        return list(session.scalars(select(WorkItem).where(WorkItem.case_id == case_id).order_by(WorkItem.id)))


def only_item(svc, case_id: int) -> WorkItem:
    (item,) = items(svc, case_id)
    return item


def loop_case(svc, world, travel, rounds: int = 2) -> int:
    """A case on the review-loop model, sent back `rounds - 1` times then accepted, with claims and releases."""
    model_set(svc, "loop")
    security, fa = world.actor("security"), world.actor("fa_officer")
    case_id = commands.start_case(svc, security, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="量子センサー共同研究", process_id="loop_case", model_set="test-loop").case_id
    for round_no in range(1, rounds + 1):
        travel.advance(hours=2)
        edit = only_item(svc, case_id)
        commands.claim_task(svc, security, edit.task_id)
        commands.complete_task(svc, security, edit.task_id, {"summary": f"第{round_no}版: 入退室管理を強化"})
        travel.advance(hours=5)
        review = only_item(svc, case_id)
        commands.claim_task(svc, fa, review.task_id)
        commands.release_task(svc, fa, review.task_id)
        commands.complete_task(svc, fa, review.task_id, {"decision": "accept" if round_no == rounds else "again"})
    return case_id


def check(svc, case_id: int, external_anchors=None):
    """`audit verify --case` as a function: the report for one case's stream, with the anchors."""
    with svc.db.reader() as session:
        anchors = load_anchors(session)
    with svc.db.engine.connect() as conn:
        return verify(conn, stream=case_stream(case_id), anchors=anchors, external_anchors=external_anchors)


def rows_of(svc, stream: str) -> list[dict]:
    with svc.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(EVENTS).where(EVENTS.c.stream == stream).order_by(EVENTS.c.seq))]
