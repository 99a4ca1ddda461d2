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


def test_only_a_race_on_a_case_is_reported_as_someone_else_changing_it(svc, world):
    import pytest
    from sqlalchemy import text, update
    from sqlalchemy.exc import IntegrityError

    from service import clock
    from service.models import Case, Organization
    from service.unit_of_work import ALREADY_EXISTS, CASE_CHANGED, unit_of_work

    model_set(svc, "loop")
    case_id = commands.start_case(
        svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
        title="stale", process_id="loop_case", model_set="test-loop",
    ).case_id
    # the case-version race: the version moved between reading and writing the case
    with pytest.raises(Conflict) as raced, unit_of_work(svc) as session:
        case = session.get(Case, case_id)
        session.execute(update(Case).where(Case.id == case_id).values(version=Case.version + 1)
                        .execution_options(synchronize_session=False))
        case.title = "changed"
    assert raced.value.template == CASE_CHANGED

    # another UNIQUE violation says what exists already (a 409 with its own reason)
    with svc.db.reader() as session:
        code = session.get(Organization, world.lead_id).code
    with pytest.raises(Conflict) as duplicate, unit_of_work(svc) as session:
        session.add(Organization(code=code, name="同名機関", kind="institution", created_at=clock.now()))
    assert duplicate.value.template == ALREADY_EXISTS and duplicate.value.status == 409
    assert "organizations.code" in duplicate.value.detail and "this case" not in duplicate.value.detail

    # any other integrity error is a bug: raised as such (a logged server error), never a conflict
    with pytest.raises(IntegrityError), unit_of_work(svc) as session:
        session.execute(text("INSERT INTO organizations (code, name, name_en, kind, country, active, "
                             "created_at) VALUES ('x-null-name', NULL, '', 'institution', 'JP', true, "
                             "CURRENT_TIMESTAMP)"))
