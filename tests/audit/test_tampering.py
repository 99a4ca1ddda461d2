"""`audit verify` finds every kind of tampering with a case's recorded history and names the first bad event.

Each test changes the event table the way someone with database access could (on PostgreSQL bypassing the
append-only trigger), checks what verification reports, and puts the stream back afterwards.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, text, update

from service.eventlog.anchors import create_anchor
from service.eventlog.chain import case_stream
from service.eventlog.hashing import event_hash

from .helpers import EVENTS, HEADS, check, loop_case, rows_of, tampering


@pytest.fixture
def history(svc, world, travel, restore_streams) -> int:
    case_id = loop_case(svc, world, travel)
    restore_streams(case_stream(case_id))
    return case_id


def _only_problem(report):
    assert not report.ok
    (problem,) = report.problems
    return problem


def test_an_untouched_history_verifies(svc, history):
    report = check(svc, history)
    assert report.ok, report.problems
    assert report.streams == 1 and report.events == len(rows_of(svc, case_stream(history))) > 15


def test_an_altered_event_is_named_with_what_is_wrong(svc, history):
    target = [r for r in rows_of(svc, case_stream(history)) if r["action"] == "task_completed"][1]
    with tampering(svc) as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.id == target["id"])
                     .values(data={**target["data"], "summary": "入退室管理は不要"}))
    problem = _only_problem(check(svc, history))
    assert (problem.stream, problem.seq, problem.event_id) == (case_stream(history), target["seq"], target["id"])
    assert "does not match the event's content" in problem.message and "altered" in problem.message


def test_altering_who_did_it_or_when_is_found_too(svc, history):
    target = rows_of(svc, case_stream(history))[6]
    with tampering(svc) as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.id == target["id"]).values(actor_name="someone-else"))
    assert _only_problem(check(svc, history)).seq == target["seq"]


def test_a_removed_event_is_found_at_the_gap(svc, history):
    target = rows_of(svc, case_stream(history))[3]
    with tampering(svc) as conn:
        conn.execute(EVENTS.delete().where(EVENTS.c.id == target["id"]))
    problem = _only_problem(check(svc, history))
    assert problem.seq == target["seq"] + 1
    assert f"expected seq {target['seq']}" in problem.message and "removed" in problem.message


def test_reordered_events_are_found(svc, history):
    rows = rows_of(svc, case_stream(history))
    first, second = rows[5], rows[6]
    with tampering(svc) as conn:  # swap their places in the stream
        conn.execute(update(EVENTS).where(EVENTS.c.id == first["id"]).values(seq=-1))
        conn.execute(update(EVENTS).where(EVENTS.c.id == second["id"]).values(seq=first["seq"]))
        conn.execute(update(EVENTS).where(EVENTS.c.id == first["id"]).values(seq=second["seq"]))
    problem = _only_problem(check(svc, history))
    assert (problem.seq, problem.event_id) == (first["seq"], second["id"])
    assert f"it follows the event at seq {second['seq']}" in problem.message and "reordered" in problem.message


def test_an_inserted_event_with_a_correct_hash_is_still_found(svc, history):
    """The forger knows the hash formula: the forged event's own hash is right, its place is not."""
    rows = rows_of(svc, case_stream(history))
    at = rows[4]
    with tampering(svc) as conn:
        for row in reversed(rows[4:]):  # make room at seq 5
            conn.execute(update(EVENTS).where(EVENTS.c.id == row["id"]).values(seq=row["seq"] + 1))
        forged = {**{k: at[k] for k in ("stream", "case_id", "at", "model_hash", "task_id", "element_id")},
                  "seq": at["seq"], "actor_id": None, "actor_name": "system", "action": "task_completed",
                  "data": {"summary": "後から挿入"}, "prev_hash": rows[3]["hash"]}
        forged["hash"] = event_hash(forged)
        conn.execute(insert(EVENTS).values(**forged))
        conn.execute(update(HEADS).where(HEADS.c.stream == at["stream"]).values(seq=rows[-1]["seq"] + 1))
    problem = _only_problem(check(svc, history))
    assert (problem.seq, problem.event_id) == (at["seq"] + 1, at["id"])
    assert "inserted later" in problem.message


def test_cutting_off_the_newest_events_is_caught_by_the_head_row(svc, history):
    rows = rows_of(svc, case_stream(history))
    with tampering(svc) as conn:
        conn.execute(EVENTS.delete().where(EVENTS.c.id.in_([rows[-1]["id"], rows[-2]["id"]])))
    problem = _only_problem(check(svc, history))
    assert problem.seq == rows[-3]["seq"]
    assert f"its head row says seq {rows[-1]['seq']}" in problem.message and "removed" in problem.message


def test_cutting_off_the_newest_events_and_their_head_is_caught_by_the_anchor(svc, history):
    """Without an anchor a shortened stream with a matching head row looks whole; the anchor remembers."""
    rows = rows_of(svc, case_stream(history))
    create_anchor(svc, "test")
    with tampering(svc) as conn:
        conn.execute(EVENTS.delete().where(EVENTS.c.id.in_([rows[-1]["id"], rows[-2]["id"]])))
        conn.execute(update(HEADS).where(HEADS.c.stream == case_stream(history))
                     .values(seq=rows[-3]["seq"], head_hash=rows[-3]["hash"]))
    report = check(svc, history)
    problem = _only_problem(report)
    assert problem.seq == rows[-3]["seq"]
    assert f"anchor {report.anchor['seq']} recorded seq {rows[-1]['seq']}" in problem.message
    assert "newest events were removed" in problem.message


def test_rewriting_a_whole_stream_consistently_is_caught_by_the_anchor(svc, history):
    """Recomputing every hash after a change makes a valid chain; it no longer matches what was anchored."""
    rows = rows_of(svc, case_stream(history))
    create_anchor(svc, "test")
    prev = rows[1]["hash"]
    with tampering(svc) as conn:
        for row in rows[2:]:
            data = {**row["data"], "summary": "書き換え"} if row["action"] == "task_completed" else row["data"]
            fields = {**row, "data": data, "prev_hash": prev}
            fields["hash"] = prev = event_hash(fields)
            conn.execute(update(EVENTS).where(EVENTS.c.id == row["id"])
                         .values(data=data, prev_hash=fields["prev_hash"], hash=fields["hash"]))
        conn.execute(update(HEADS).where(HEADS.c.stream == case_stream(history)).values(head_hash=prev))
    # the anchor knows the head: that is where the rewrite shows (every link before it is consistent)
    problem = _only_problem(check(svc, history))
    assert problem.seq == rows[-1]["seq"] and "anchor" in problem.message and "rewritten" in problem.message


def test_equivalent_json_written_another_way_is_not_tampering(svc, history):
    """Rows stored before data was kept canonical (or by another client) still verify: only meaning counts."""
    target = [r for r in rows_of(svc, case_stream(history)) if r["action"] == "task_completed"][0]
    loose = json.dumps(target["data"], ensure_ascii=True, indent=1)  # other spacing, escapes and key order
    with tampering(svc) as conn:
        column = "CAST(:data AS JSON)" if conn.dialect.name == "postgresql" else ":data"
        conn.execute(text(f"UPDATE events SET data = {column} WHERE id = :id"), {"data": loose, "id": target["id"]})
    assert check(svc, history).ok


def test_the_cli_exits_1_naming_the_event_and_0_when_intact(app, svc, history):
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["audit", "verify", "--case", str(history)])
    assert intact.exit_code == 0, intact.output
    assert intact.output.startswith("intact:")
    target = rows_of(svc, case_stream(history))[2]
    with tampering(svc) as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.id == target["id"]).values(element_id="forged"))
    tampered = runner.invoke(args=["audit", "verify", "--case", str(history)])
    assert tampered.exit_code == 1
    assert tampered.output.splitlines()[0] == (
        f"TAMPERED case:{history} seq {target['seq']} (event id {target['id']}): "
        "the hash does not match the event's content: the row was altered")
    as_json = json.loads(runner.invoke(args=["audit", "verify", "--case", str(history), "--json"]).output)
    assert as_json["ok"] is False and as_json["problems"][0]["seq"] == target["seq"]
