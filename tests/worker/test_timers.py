"""The timer worker: time travel fires due timers; two workers never process the same case."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.cases import commands
from service.models import Case, Event, WorkItem
from service.worker.timers import run_once
from tests.conftest import model_set, postgres_only


def _start(svc, world, n=1):
    model_set(svc, "timers")
    return [
        commands.start_case(
            svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
            title=f"timer {i}", process_id="timer_case", model_set="test-timers",
        ).case_id
        for i in range(n)
    ]


def test_a_due_timer_fires_when_time_has_come(svc, world, travel):
    (case_id,) = _start(svc, world)
    with svc.db.reader() as session:
        assert session.get(Case, case_id).next_wakeup_at is not None
        assert session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all() == []
    travel.advance(days=29)
    assert case_id not in run_once(svc)
    travel.advance(days=2)
    assert case_id in run_once(svc)
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
        assert item.element_id == "yearly_check"
        fired = session.scalars(select(Event).where(Event.case_id == case_id, Event.action == "timer_fired")).one()
        assert "wait_30_days" in fired.data["completed"] and fired.actor_name == "system"
    # nothing more is due: a second round does nothing
    assert case_id not in run_once(svc)


def test_two_workers_never_process_the_same_case(svc, world, travel, is_postgres):
    postgres_only(is_postgres)
    case_ids = _start(svc, world, 24)
    travel.advance(days=31)
    processed: list[list[int]] = [[], []]

    def work(slot: int) -> None:
        processed[slot] = run_once(svc)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = set(case_ids)
    first, second = set(processed[0]) & mine, set(processed[1]) & mine
    assert first | second == mine
    assert first.isdisjoint(second)
    with svc.db.reader() as session:
        counts = session.execute(
            select(Event.case_id, func.count()).where(Event.case_id.in_(case_ids), Event.action == "timer_fired")
            .group_by(Event.case_id)
        ).all()
    assert sorted(counts) == sorted((cid, 1) for cid in case_ids)


def test_withdrawal_message_ends_the_case(svc, world):
    (case_id,) = _start(svc, world)
    outcome = commands.send_message(svc, world.actor("security"), case_id, "withdraw", {"withdraw_reason": "中止"})
    assert outcome.status == "completed"
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        assert (case.outcome, case.next_wakeup_at) == ("withdrawn", None)
