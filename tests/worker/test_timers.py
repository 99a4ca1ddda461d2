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


def test_a_case_whose_timers_fail_is_postponed_itself_and_the_round_goes_on(svc, world, travel, monkeypatch):
    from service.worker import timers

    failing, healthy = _start(svc, world, 2)
    travel.advance(days=31)
    real_fire = timers.fire_timers

    def fire(session, svc_, actor, case_id):
        if case_id == failing:
            raise RuntimeError("a broken script")
        return real_fire(session, svc_, actor, case_id)

    monkeypatch.setattr(timers, "fire_timers", fire)
    processed = run_once(svc)
    assert healthy in processed and failing not in processed
    with svc.db.reader() as session:
        assert session.get(Case, failing).next_wakeup_at == travel.moment + timers.RETRY_AFTER
        assert session.get(Case, healthy).next_wakeup_at != travel.moment + timers.RETRY_AFTER


def test_a_claim_that_fails_ends_the_round_and_postpones_nobody(svc, world, travel, monkeypatch):
    from service.worker import timers

    first, second = _start(svc, world, 2)
    travel.advance(days=31)
    real_claim = timers._claim_next
    calls = []

    def claim(session, now, skip):
        calls.append(now)
        if len(calls) == 2:  # the first case was processed; claiming the next one fails
            raise RuntimeError("the database went away")
        return real_claim(session, now, skip)

    monkeypatch.setattr(timers, "_claim_next", claim)
    processed = run_once(svc)  # neither UnboundLocalError nor a postponed bystander
    assert len(processed) == 1
    with svc.db.reader() as session:
        done = session.get(Case, processed[0])
        assert done.next_wakeup_at != travel.moment + timers.RETRY_AFTER
    calls.clear()
    monkeypatch.setattr(timers, "_claim_next", lambda *a: (_ for _ in ()).throw(RuntimeError("down")))
    assert run_once(svc) == []  # the very first claim fails: the worker loop survives
    monkeypatch.setattr(timers, "_claim_next", real_claim)
    assert {first, second} - set(processed) <= set(run_once(svc))


def test_worker_once_runs_one_round_of_everything(app, monkeypatch):
    from service.cases import migration
    from service.worker import timers

    ran = []
    monkeypatch.setattr(timers, "run_once", lambda svc, limit=None: ran.append("timers") or [])
    monkeypatch.setattr(timers, "anchor_daily", lambda svc: ran.append("anchor"))
    monkeypatch.setattr(timers, "purge_login_throttles", lambda svc: ran.append("throttle") or 0)
    monkeypatch.setattr(migration, "run_jobs", lambda svc, limit_cases=None: ran.append("migration") or 0)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert sorted(ran) == ["anchor", "migration", "throttle", "timers"]


def test_the_daily_jobs_purge_expired_sign_in_throttle_rows(svc, travel):
    from service.auth import throttle
    from service.models import LoginThrottle
    from service.worker.timers import run_daily_jobs

    window = svc.settings.login_ip_window_seconds
    with svc.db.transaction() as session:
        throttle.record_failure(session, "192.0.2.201", window)
        throttle.record_name_failure(session, "nobody-purge-test", 1, 60)  # locked for a minute, count 0
        throttle.record_name_failure(session, "somebody-purge-test", 5, 60)  # one failure counted
    keys = {throttle._key("192.0.2.201"), throttle._name_key("nobody-purge-test"),
            throttle._name_key("somebody-purge-test")}

    def left() -> set[str]:
        with svc.db.reader() as session:
            return set(session.scalars(select(LoginThrottle.key).where(LoginThrottle.key.in_(keys))))

    run_daily_jobs(svc)
    assert left() == keys  # nothing has expired yet
    travel.advance(seconds=window + 1)
    run_daily_jobs(svc)
    # the address's window and the name's lock have passed; a counted failure stays, as an account's would
    assert left() == {throttle._name_key("somebody-purge-test")}
