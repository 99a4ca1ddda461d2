"""Many people claiming and releasing one task at the same moment: the case's chain stays gap-free and valid."""

from __future__ import annotations

import threading

from sqlalchemy import select

from service.cases import commands
from service.errors import Conflict
from service.eventlog.chain import case_stream
from service.models import Event
from tests.conftest import model_set, postgres_only

from .helpers import check, only_item


def test_concurrent_claims_and_releases_keep_one_gap_free_valid_chain(svc, world, is_postgres):
    postgres_only(is_postgres)
    model_set(svc, "loop")
    case_id = commands.start_case(svc, world.actor("security"), call_id=world.call_id,
                                  lead_institution_id=world.lead_id, title="race", process_id="loop_case",
                                  model_set="test-loop").case_id
    task_id = only_item(svc, case_id).task_id
    actors = [world.actor(name) for name in ("security", "security2", "admin")]
    threads_count, rounds = 12, 15
    barrier = threading.Barrier(threads_count)
    written, unexpected = [], []
    lock = threading.Lock()

    def worker(n: int) -> None:
        actor = actors[n % len(actors)]
        barrier.wait()
        for _ in range(rounds):
            for action in (commands.claim_task, commands.release_task):
                try:
                    action(svc, actor, task_id)
                    with lock:
                        written.append(action.__name__)
                except Conflict:
                    pass  # someone else won this race: nothing of theirs was written
                except Exception as exc:  # forbidden or anything else would be a defect here
                    if "Forbidden" in type(exc).__name__:
                        continue  # releasing a task another person holds is refused, as it should be
                    with lock:
                        unexpected.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    with svc.db.reader() as session:
        events = session.execute(
            select(Event.seq, Event.action).where(Event.stream == case_stream(case_id)).order_by(Event.seq)).all()
    assert [seq for seq, _a in events] == list(range(1, len(events) + 1))
    claims = [a for _s, a in events if a == "task_claimed"]
    releases = [a for _s, a in events if a == "task_released"]
    # every successful release wrote its event; a claim by the person already holding the task writes none
    assert len(releases) == written.count("release_task") and len(claims) <= written.count("claim_task")
    assert len(claims) > 5 and len(events) > 20
    report = check(svc, case_id)
    assert report.ok, report.problems
