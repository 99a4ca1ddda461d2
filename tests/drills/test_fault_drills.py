"""Fault drill: two hosts and two timer workers under load; kill -9 a worker mid-round, kill -9 a host,
restart PostgreSQL; then nothing acknowledged is lost or doubled, no case is half-written, every due timer
fired once, the audit chain verifies, and clients saw only 409/503 problems and recovered by themselves.

PostgreSQL only (TEJUN_TEST_DATABASE_URL), marked `drill`; about a minute. The figures (what clients saw per
fault, recovery times) are printed and kept in test-artifacts/drills/fault_drill.json.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, select, text

from tests.caches import forget_model_caches
from tests.drills import harness

pytestmark = [pytest.mark.drill, pytest.mark.slow]

CLIENTS = 4
BURST = 24  # cases opened at once, their timers due together: a round with work in it to interrupt
TIMER = "drill_timer"


def _window(clients, start: float, end: float) -> Counter:
    return Counter(str(s.status) for c in clients for s in c.seen if start <= s.at <= end)


def _recovered(clients, after: float, within: float = 60) -> float:
    """Seconds from `after` until every client had a completion acknowledged again (bounded wait)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        firsts = [next((t for t in c.completed_at if t > after), None) for c in clients]
        if all(firsts):
            return round(max(firsts) - after, 2)
        time.sleep(0.1)
    raise AssertionError(f"clients did not recover within {within} s of the fault")


def test_hosts_workers_and_the_database_fail_and_nothing_is_lost(tmp_path):
    url = harness.base_url()
    cluster = harness.pg_cluster()
    from service.cases import commands

    forget_model_caches()  # this schema's version ids repeat those of earlier tests in this process
    target = harness.perf_bench.Target(url, tmp_path, "drill")
    processes: list[harness.Process] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    report: dict = {"faults": {}}
    try:
        harness.publish_drill_model(target.svc)
        people = [harness.perf_bench.loop_people(target.svc, f"drill{n}", harness.perf_bench.PASSWORD)
                  for n in range(CLIENTS + 1)]
        env = {**target.env(), "TEJUN_WORKER_INTERVAL": "0.5", "TEJUN_DB_POOL_SIZE": "4"}
        hosts = [harness.Host("host-a", env, tmp_path), harness.Host("host-b", env, tmp_path)]
        workers = [harness.Process(f"worker-{n}", [str(harness.ROOT / ".venv/bin/flask"), "--app", "wsgi", "worker"],
                                   {**env, "TEJUN_DATABASE_URL": f"{target.url}&application_name=drill-worker-{n}"},
                                   tmp_path / f"worker-{n}.log") for n in "ab"]
        processes += hosts + workers
        for process in processes:
            process.start()
        for host in hosts:
            host.ready()
        engine = create_engine(target.url, pool_pre_ping=True)

        clients = [harness.Client(f"drill{n}-user", harness.perf_bench.PASSWORD, call_id, lead_id, hosts, n)
                   for n, (_user, call_id, lead_id) in enumerate(people[:CLIENTS])]
        threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(3)

        # 1. kill -9 a timer worker in the middle of a round: BURST cases whose timers come due together
        user_id, call_id, lead_id = people[CLIENTS]
        with target.svc.db.reader() as session:
            from service.auth.actor import Actor
            from service.models import User

            owner = Actor.from_user(session.get(User, user_id))
        # the workers are held (SIGSTOP) while the burst comes due, so that one round finds all of it
        for worker in workers:
            worker.signal(signal.SIGSTOP)
        burst = [commands.start_case(target.svc, owner, call_id=call_id, lead_institution_id=lead_id,
                                     title=f"タイマー{n}").case_id for n in range(BURST)]
        deadline = time.monotonic() + 30
        while harness.due_cases(engine, burst) < BURST and time.monotonic() < deadline:
            time.sleep(0.1)
        for worker in workers:
            worker.signal(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            due = harness.due_cases(engine, burst)
            if due < BURST - 2 and harness.in_transaction(engine, "drill-worker-a"):
                break
            time.sleep(0.005)
        else:
            raise AssertionError("worker a never started a round with due timers")
        due_at_kill = harness.due_cases(engine, burst)
        killed = time.monotonic()
        workers[0].kill9()
        while harness.due_cases(engine, burst) and time.monotonic() - killed < 60:
            time.sleep(0.1)
        drained = time.monotonic()
        workers[0].start()  # a supervisor restarts it
        report["faults"]["worker_kill9_mid_round"] = {
            "due_cases_at_kill": due_at_kill,
            "seconds_until_no_timer_due": round(drained - killed, 2),
            "clients_saw": dict(_window(clients, killed, drained)),
        }
        assert harness.due_cases(engine, burst) == 0, "the other worker did not take over the killed worker's cases"

        # 2. kill -9 a web host (its gunicorn master and worker): clients move to the other host
        time.sleep(1)
        killed = time.monotonic()
        hosts[0].kill9()
        recovered = _recovered(clients, killed)
        time.sleep(2)
        hosts[0].start()  # the host comes back
        back = hosts[0].ready()
        report["faults"]["web_host_kill9"] = {
            "clients_saw": dict(_window(clients, killed, killed + recovered + 1)),
            "seconds_until_every_client_completed_again": recovered,
            "seconds_for_the_host_to_be_ready_again": round(back, 2),
        }

        # 3. restart PostgreSQL under load
        time.sleep(2)
        killed = time.monotonic()
        harness.pg_ctl("restart", cluster)
        restarted = time.monotonic()
        recovered = _recovered(clients, killed)
        report["faults"]["postgresql_restart"] = {
            "restart_command_seconds": round(restarted - killed, 2),
            "clients_saw": dict(_window(clients, killed, killed + recovered + 1)),
            "seconds_until_every_client_completed_again": recovered,
        }
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=harness.REQUEST_BOUND_SECONDS * 3)
        assert not any(t.is_alive() for t in threads), "a client hung"
        report["run_seconds"] = round(time.monotonic() - started, 1)

        # every case's timer comes due and fires (the workers catch up), bounded
        deadline = time.monotonic() + 30
        while harness.waiting_cases(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in processes:
            process.stop()

        # -- afterwards ----------------------------------------------------------------------------------
        seen = [s for c in clients for s in c.seen]
        statuses = Counter(str(s.status) for s in seen)
        report["requests"] = dict(statuses)
        report["slowest_request_seconds"] = round(max(s.seconds for s in seen), 2)
        acknowledged = [t for c in clients for t in c.acknowledged]
        report["acknowledged_completions"] = len(acknowledged)
        report["cases_opened_by_clients"] = sum(len(c.opened) for c in clients)
        problems = {k: v for k, v in statuses.items() if k not in ("200", "201", "409", "503", "connection")}
        errors_500 = [(s.status, s.method, s.path, s.detail) for s in seen if s.status not in
                      (200, 201, 409, 503, "connection")]
        assert not problems, f"clients saw other problems than 409/503: {errors_500[:10]}"
        assert report["slowest_request_seconds"] < harness.REQUEST_BOUND_SECONDS
        assert len(acknowledged) > 20 and all(c.acknowledged for c in clients)

        with engine.connect() as conn:
            completions = Counter(conn.execute(text(
                "SELECT task_id FROM events WHERE action = 'task_completed'")).scalars())
            assert len(set(acknowledged)) == len(acknowledged)
            missing = [t for t in acknowledged if completions[t] != 1]
            assert not missing, f"acknowledged completions not in the event log exactly once: {missing[:5]}"
            assert max(completions.values()) == 1, "a task completed twice"
            # every due timer fired exactly once: by a worker (`timer_fired`), or by the engine running on after
            # a user's completion on that case once the timer was due (then the event of that step lists it)
            fired, by_worker = Counter(), Counter()
            for case_id, action, data in conn.execute(text("SELECT case_id, action, data FROM events")):
                payload = data if isinstance(data, dict) else json.loads(data or "{}")
                count = (payload.get("completed") or []).count(TIMER) if isinstance(payload, dict) else 0
                fired[case_id] += count
                by_worker[case_id] += count if action == "timer_fired" else 0
            cases = conn.execute(text("SELECT id, next_wakeup_at, status, version FROM cases")).all()
            started_events = Counter(conn.execute(text(
                "SELECT case_id FROM events WHERE action = 'case_started'")).scalars())
            states = set(conn.execute(text("SELECT case_id FROM case_states")).scalars())
        for case_id, wakeup, status, version in cases:
            assert status == "running" and version >= 1
            assert started_events[case_id] == 1 and case_id in states, f"case {case_id} half-written"
            assert fired[case_id] == 1, f"case {case_id}: timer fired {fired[case_id]} times (wake-up {wakeup})"
        for client in clients:
            assert set(client.opened) <= {c[0] for c in cases}
        assert set(burst) <= {c[0] for c in cases}
        report["timers_fired"] = sum(fired.values())
        report["timers_fired_by_workers"] = sum(by_worker.values())

        # work items match the ready tasks of every case's stored state
        from service.cases.queries import restore
        from service.models import Case, WorkItem

        with target.svc.db.reader() as session:
            for case in session.scalars(select(Case)):
                ready = {t.task_id for t in restore(session, case).ready_human_tasks()}
                items = set(session.scalars(select(WorkItem.task_id).where(WorkItem.case_id == case.id)))
                assert ready == items, f"case {case.id}: work items {items} but ready tasks {ready}"

        cli = {**env, "TEJUN_INSTANCE_PATH": str(tmp_path)}
        for argv in (["audit", "verify"], ["audit", "replay", "--all"]):
            out = subprocess.run([str(harness.ROOT / ".venv/bin/flask"), "--app", "wsgi", *argv], cwd=harness.ROOT,
                                 env=cli, capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, f"{' '.join(argv)}: {out.stdout[-2000:]} {out.stderr[-2000:]}"
        engine.dispose()
    finally:
        stop.set()
        for process in processes:
            with contextlib.suppress(Exception):  # clean up the others whatever happens
                process.stop()
        harness.ensure_pg_running(cluster)
        artifacts = harness.ROOT / "test-artifacts" / "drills"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "fault_drill.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        try:
            target.drop()
        except Exception:
            harness.ensure_pg_running(cluster)
            target.drop()
