"""Anchors: digests over every stream head, chained, exported, and made daily by the timer worker."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from service.eventlog.anchors import (
    AnchorRefused,
    create_anchor,
    ensure_daily_anchor,
    export_lines,
    load_anchors,
    read_export,
)
from service.eventlog.chain import case_stream
from service.eventlog.hashing import heads_digest
from service.eventlog.offline import check_chain
from service.models import AuditAnchor, EventStream
from service.worker.anchors import anchor_daily

from .helpers import EVENTS, HEADS, check, loop_case, rows_of, tampering


def _heads(svc) -> dict[str, tuple[int, str]]:
    with svc.db.reader() as session:
        return {s: (q, h) for s, q, h in session.execute(
            select(EventStream.stream, EventStream.seq, EventStream.head_hash))}


def test_an_anchor_records_every_head_and_the_next_only_what_moved(svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=1)
    first = create_anchor(svc, "test")
    heads = _heads(svc)
    assert first["stream_count"] == len(heads) and first["event_count"] == sum(q for q, _h in heads.values())
    assert first["heads_digest"] == heads_digest((s, q, h) for s, (q, h) in heads.items())
    assert [case_stream(case_id), *heads[case_stream(case_id)]] in first["changed"]

    travel.advance(days=1)
    second_case = loop_case(svc, world, travel, rounds=1)
    second = create_anchor(svc, "test")
    moved = {stream for stream, _seq, _hash in second["changed"]}
    assert case_stream(second_case) in moved and case_stream(case_id) not in moved
    assert second["prev_hash"] == first["hash"] and second["seq"] == first["seq"] + 1
    with svc.db.reader() as session:
        chain = check_chain(load_anchors(session))
    assert chain.problems == [] and chain.heads == _heads(svc)


def test_exported_anchors_catch_a_rewrite_of_the_database_anchors_included(svc, world, travel, restore_streams):
    """An intruder rewrites a stream and then the anchors too: only the copy kept elsewhere shows it."""
    case_id = loop_case(svc, world, travel, rounds=1)
    restore_streams(case_stream(case_id))
    create_anchor(svc, "test")
    with svc.db.reader() as session:
        exported = read_export("".join(line + "\n" for line in export_lines(load_anchors(session))))
    assert check(svc, case_id, external_anchors=exported).ok

    rows = rows_of(svc, case_stream(case_id))
    last = rows[-1]
    with tampering(svc) as conn:  # drop the newest event, its head, and every anchor; then anchor anew
        conn.execute(EVENTS.delete().where(EVENTS.c.id == last["id"]))
        conn.execute(update(HEADS).where(HEADS.c.stream == last["stream"])
                     .values(seq=rows[-2]["seq"], head_hash=rows[-2]["hash"]))
        conn.execute(AuditAnchor.__table__.delete())
    try:
        create_anchor(svc, "intruder")
        assert check(svc, case_id).ok  # the database alone now looks consistent
        report = check(svc, case_id, external_anchors=exported)
        assert not report.ok
        assert any("differs in the database compared with the exported copy" in str(p) for p in report.problems)
        assert any(p.stream == case_stream(case_id) and "newest events were removed" in p.message
                   for p in report.problems)
    finally:
        with tampering(svc) as conn:
            conn.execute(AuditAnchor.__table__.delete())
            conn.execute(AuditAnchor.__table__.insert(), [
                {**{k: a[k] for k in a if k != "created_at"}, "created_at": _when(a)} for a in exported])


def _when(anchor):
    return datetime.fromisoformat(anchor["created_at"])


def test_an_altered_anchor_is_found(svc, world, travel):
    loop_case(svc, world, travel, rounds=1)
    anchor = create_anchor(svc, "test")
    with tampering(svc) as conn:
        conn.execute(update(AuditAnchor).where(AuditAnchor.seq == anchor["seq"]).values(created_by="someone"))
    try:
        with svc.db.reader() as session:
            problems = check_chain(load_anchors(session)).problems
        assert problems == [f"anchor {anchor['seq']}: hash does not match its content (the anchor was altered)"]
        with pytest.raises(AnchorRefused, match="do not check out"):
            create_anchor(svc, "test")
    finally:
        with tampering(svc) as conn:
            conn.execute(update(AuditAnchor).where(AuditAnchor.seq == anchor["seq"]).values(created_by="test"))


def test_no_new_anchor_covers_up_a_stream_that_went_backwards(svc, world, travel, restore_streams):
    case_id = loop_case(svc, world, travel, rounds=1)
    restore_streams(case_stream(case_id))
    create_anchor(svc, "test")
    rows = rows_of(svc, case_stream(case_id))
    with tampering(svc) as conn:
        conn.execute(EVENTS.delete().where(EVENTS.c.id == rows[-1]["id"]))
        conn.execute(update(HEADS).where(HEADS.c.stream == rows[-1]["stream"])
                     .values(seq=rows[-2]["seq"], head_hash=rows[-2]["hash"]))
    with pytest.raises(AnchorRefused, match=f"stream {case_stream(case_id)} went backwards"):
        create_anchor(svc, "test")


def test_the_worker_anchors_once_a_day(svc, world, travel):
    loop_case(svc, world, travel, rounds=1)
    with svc.db.reader() as session:
        newest = session.scalar(select(func.max(AuditAnchor.created_at)))
    travel.moment = max(travel.moment, newest or travel.moment) + timedelta(days=2)

    def count() -> int:
        with svc.db.reader() as session:
            return session.scalar(select(func.count()).select_from(AuditAnchor))

    before = count()
    anchor_daily(svc)
    assert count() == before + 1
    travel.advance(hours=23)
    anchor_daily(svc)
    assert ensure_daily_anchor(svc) is None and count() == before + 1
    travel.advance(hours=2)
    anchor_daily(svc)
    assert count() == before + 2


def test_the_cli_makes_and_exports_anchors(app, svc, world, travel, tmp_path):
    loop_case(svc, world, travel, rounds=1)
    target = tmp_path / "anchors.jsonl"
    made = app.test_cli_runner().invoke(args=["audit", "anchor", "--export", str(target)])
    assert made.exit_code == 0, made.output
    assert made.output.startswith("anchor ")
    exported = read_export(target.read_text())
    with svc.db.reader() as session:
        assert exported == [{k: a[k] for k in exported[0]} for a in load_anchors(session)]
    assert check_chain(exported).problems == []


def test_anchors_are_append_only_on_postgres(svc, is_postgres, world, travel):
    if not is_postgres:
        pytest.skip("the append-only trigger is PostgreSQL's")
    loop_case(svc, world, travel, rounds=1)
    create_anchor(svc, "test")
    for statement in ("UPDATE audit_anchors SET created_by = 'x'", "DELETE FROM audit_anchors",
                      "TRUNCATE audit_anchors"):
        with pytest.raises(DBAPIError, match="append-only"), svc.db.engine.begin() as conn:
            conn.execute(text(statement))
