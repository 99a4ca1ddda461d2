"""Page load budget (issue 21, point 2): server time of the queue, task and case pages, p50 / p95.

    .venv/bin/python bench/page_bench.py                   # demo data, then demo data among 100,000 cases
    .venv/bin/python bench/page_bench.py --cases 0         # the demo data alone
    .venv/bin/python bench/page_bench.py --database-url sqlite --cases 2000

Server time is the time the Flask app takes to answer a GET in this process (the test client: no network,
no gunicorn queueing), the session signed in through the login form as the demo account who works the page.
Pages measured, each `--reps` times:

* queue: `/?tab=<tab>` (the home page is the queue) for every tab, as every demo account with work;
* task: `/tasks/<id>` of every open task of the demo cases, as an account who may work it;
* case: `/cases/<id>` of every demo case, as the lead institution's security officer.

With `--cases N` (default 100,000) the same demo pages are measured again in a schema that also holds
perf_bench's generated data (N cases, 10 work items and 10 events per case, a Zipf skew across 400
institutions), and the queue page as the security officer of the largest generated institution (86,000
open items at 100,000 cases). Prints one JSON object and a table; the budget is 100 ms at p95 per page.
Timings depend on the machine's load, which is recorded beside them; no test asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import perf_bench  # noqa: E402
from sqlalchemy import select  # noqa: E402

from service.auth.admin import set_password  # noqa: E402
from service.auth.permissions import may_work  # noqa: E402
from service.models import Case, User, WorkItem  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402

BUDGET_MS = 100.0
TABS = ("mine", "team", "org", "overdue")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _signed_in(app, username: str, password: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(page)})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed for {username}: {response.status_code}")
    return client


def _timed(client, path: str, reps: int) -> list[float]:
    runs = []
    # the first request of a page warms this process's caches: not what a user waits for; a page this person
    # may not open (a designation case's page for an institution's officer) is not measured
    if client.get(path).status_code == 404:
        return runs
    for _ in range(reps):
        started = time.perf_counter()
        response = client.get(path)
        runs.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
    return runs


def _summary(runs: list[float], pages: int) -> dict:
    return {"pages": pages, "samples": len(runs), "p50_ms": perf_bench.ms(perf_bench.pct(runs, 50)),
            "p95_ms": perf_bench.ms(perf_bench.pct(runs, 95)), "max_ms": perf_bench.ms(max(runs) if runs else 0)}


def demo_pages(target, app, accounts, reps: int) -> dict:
    """Every demo account's queue tabs, every open task of the demo cases, every demo case."""
    clients = {a.username: _signed_in(app, a.username, a.password) for a in accounts}
    with target.svc.db.reader() as session:
        users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(list(clients))))}
        from service.auth.actor import Actor

        actors = {name: Actor.from_user(user) for name, user in users.items()}
        items = session.scalars(select(WorkItem)).all()
        cases = session.execute(select(Case.id, Case.lead_institution_id)).all()
    timings = {"queue": [], "task": [], "case": []}
    counted = {"queue": 0, "task": 0, "case": 0}
    for name, client in clients.items():
        if any(may_work(actors[name], item) for item in items):
            for tab in TABS:
                timings["queue"] += _timed(client, f"/?tab={tab}", reps)
                counted["queue"] += 1
    for item in items:
        worker = next((n for n in clients if may_work(actors[n], item)), None)
        if worker is not None:
            runs = _timed(clients[worker], f"/tasks/{item.task_id}", reps)
            timings["task"] += runs
            counted["task"] += bool(runs)
    for case_id, lead_id in cases:
        viewer = next((n for n, a in actors.items() if a.has("security_officer", lead_id)), None)
        if viewer is not None:
            runs = _timed(clients[viewer], f"/cases/{case_id}", reps)
            timings["case"] += runs
            counted["case"] += bool(runs)
    return {page: _summary(runs, counted[page]) for page, runs in timings.items()}


def large_queue(target, app, made: dict, reps: int) -> dict:
    """The queue page of the generated largest institution's security officer (the largest tabs)."""
    officer = made["actors"]["largest_institution_officer"]
    password = "bench-Passw0rd-" + secrets.token_hex(4)
    with unit_of_work(target.svc) as session:
        from service.auth.actor import SYSTEM

        set_password(session, SYSTEM, session.get(User, officer.user_id), password)
    client = _signed_in(app, officer.username, password)
    runs = []
    for tab in TABS:
        runs += _timed(client, f"/?tab={tab}", reps)
    return _summary(runs, len(TABS))


def run(database_url: str, cases: int, reps: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="tejun-pages-"))
    target = perf_bench.Target(database_url, workdir, f"pages{secrets.token_hex(2)}")
    try:
        made = None
        if cases:
            args = SimpleNamespace(cases=cases, work_items=10 * cases, events=10 * cases)
            made = perf_bench.queue_data(target, args)
        from service.demo import seed_demo
        from service.designer.store import read_model_dirs, store_version

        with unit_of_work(target.svc) as session:  # what `flask --app wsgi models sync` stores
            store_version(session, read_model_dirs(target.settings.bpmn_dir, target.settings.forms_dir),
                          status="published")
        accounts = seed_demo(target.svc)
        for key, value in target.env().items():
            os.environ[key] = value
        from service.app import create_app

        app = create_app()
        app.config["WTF_CSRF_ENABLED"] = True
        result = {"cases_generated": cases, "load_before": perf_bench.load()}
        result["pages"] = demo_pages(target, app, accounts, reps)
        if made is not None:
            result["pages"]["queue_largest_institution"] = large_queue(target, app, made, reps)
        result["load_after"] = perf_bench.load()
        return result
    finally:
        target.drop()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEJUN_BENCH_DATABASE_URL", perf_bench.DEFAULT_PG))
    parser.add_argument("--cases", type=int, default=100_000, help="also measure among this many generated cases")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    report = {"budget_ms": BUDGET_MS, "demo": run(args.database_url, 0, args.reps)}
    if args.cases:
        report[f"demo_among_{args.cases}_cases"] = run(args.database_url, args.cases, args.reps)
    print(json.dumps(report, ensure_ascii=False))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(f"{'data':28} {'page':28} {'pages':>6} {'p50 ms':>8} {'p95 ms':>8}  budget")
    for data, found in report.items():
        if not isinstance(found, dict):
            continue
        for page, row in found["pages"].items():
            verdict = "met" if row["p95_ms"] <= BUDGET_MS else "NOT MET"
            print(f"{data:28} {page:28} {row['pages']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8}  {verdict}")
    return report


if __name__ == "__main__":
    main()
