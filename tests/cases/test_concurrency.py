"""Optimistic locking under real contention: many people submit the same task at the same instant."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.cases import commands
from service.errors import Conflict
from service.models import Event, WorkItem
from tests.conftest import model_set, postgres_only


def test_twenty_simultaneous_completions_give_one_success_and_nineteen_conflicts(svc, world, is_postgres):
    postgres_only(is_postgres)
    model_set(svc, "loop")
    started = commands.start_case(
        svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
        title="race", process_id="loop_case", model_set="test-loop",
    )
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == started.case_id)).all()
    actors = [world.actor("security"), world.actor("security2")]
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def submit(n: int) -> None:
        barrier.wait()
        try:
            commands.complete_task(svc, actors[n % 2], item.task_id, {"summary": f"attempt {n}"})
            outcome = "ok"
        except Conflict:
            outcome = "conflict"
        except Exception as exc:  # anything else is a defect: report it
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 19 + ["ok"]
    with svc.db.reader() as session:
        completions = session.scalar(
            select(func.count()).select_from(Event)
            .where(Event.case_id == started.case_id, Event.action == "task_completed")
        )
        assert completions == 1
        seqs = session.scalars(select(Event.seq).where(Event.case_id == started.case_id).order_by(Event.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
