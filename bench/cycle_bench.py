"""The cost of one fetch-and-complete cycle in one process, to try the levers of issue 21 one by one.

    .venv/bin/python bench/cycle_bench.py [--cycles 300] [--database-url sqlite] [--profile out.html]

The same cycle as `perf_bench.py --parts http` (GET /api/v1/tasks?tab=team&per_page=1&sort=created, then
POST /api/v1/tasks/<id>/complete on the review-loop model), driven through the Flask test client in this
process by one client, so there is no gunicorn, no socket and no other client: what is left is the CPU this
process spends per cycle (the web worker's share), PostgreSQL's CPU per cycle (every postgres process on the
machine, so keep the machine quiet), and the SQL statements each request sends. It is far less noisy than
the HTTP part, but it is not a throughput figure: use `bench/compare.py` for that.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import perf_bench  # noqa: E402
from sqlalchemy import event, text  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEJUN_BENCH_DATABASE_URL", perf_bench.DEFAULT_PG))
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", type=Path, help="profile the measured cycles: pyinstrument HTML; text when the "
                        "name ends .txt; cProfile of CPU time only when it ends .prof")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="tejun-cycle-"))
    target = perf_bench.Target(args.database_url, workdir, f"cycle{secrets.token_hex(2)}")
    try:
        perf_bench.loop_model(target.svc)
        user_id, call_id, lead_id = perf_bench.loop_people(target.svc, "cycle", perf_bench.PASSWORD)
        perf_bench.loop_case(target.svc, user_id, call_id, lead_id, "ループ")
        # our own PostgreSQL backends are found by their application name: other processes' backends come
        # and go on a shared machine, and theirs are not this cycle's cost
        name = f"tejun-cycle-{secrets.token_hex(3)}"
        env = target.env()
        if target.is_postgres:
            env["TEJUN_DATABASE_URL"] += f"&application_name={name}"
        for key, value in env.items():
            os.environ[key] = value
        from service.app import create_app

        app = create_app()
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "cycle-user", "password": perf_bench.PASSWORD,
                                                        "name": "bench"}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        statements = {"fetch": 0, "complete": 0}
        current = ["fetch"]
        engine = app.extensions["tejun"].db.engine
        event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(
            current[0], statements[current[0]] + 1))

        def cycle(n: int) -> None:
            current[0] = "fetch"
            body = client.get("/api/v1/tasks?tab=team&per_page=1&sort=created", headers=headers).get_json()
            item = body["items"][0]
            current[0] = "complete"
            response = client.post(f"/api/v1/tasks/{item['task_id']}/complete", headers=headers,
                                   json={"data": perf_bench.loop_data(item["element_id"], n)})
            assert response.status_code == 200, response.get_data(as_text=True)

        for n in range(args.warmup):
            cycle(n)
        statements.update(fetch=0, complete=0)
        profiler = None
        if args.profile and args.profile.suffix == ".prof":
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU only: waiting for PostgreSQL is not counted
            profiler.enable()
        elif args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        backends = []
        if target.is_postgres:
            with target.admin.connect() as conn:
                backends = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                             {"n": name}))
        pg_before = perf_bench.cpu_seconds(backends)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for n in range(args.cycles):
            cycle(n)
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
        pg = perf_bench.cpu_seconds(backends) - pg_before
        if profiler is not None and args.profile.suffix == ".prof":
            profiler.disable()
            profiler.dump_stats(args.profile)
        elif profiler is not None:
            profiler.stop()
            args.profile.write_text(profiler.output_text(unicode=True, show_all=False) if args.profile.suffix == ".txt"
                                    else profiler.output_html())
        report = {
            "database": "postgresql" if target.is_postgres else "sqlite",
            "cycles": args.cycles,
            "web_cpu_ms_per_cycle": round(1000 * cpu / args.cycles, 2),
            "postgresql_cpu_ms_per_cycle": round(1000 * pg / args.cycles, 2) if target.is_postgres else None,
            "wall_ms_per_cycle": round(1000 * wall / args.cycles, 2),
            "statements_per_fetch": round(statements["fetch"] / args.cycles, 2),
            "statements_per_complete": round(statements["complete"] / args.cycles, 2),
            "load": perf_bench.load(),
        }
        print(json.dumps(report))
        return report
    finally:
        target.drop()


if __name__ == "__main__":
    main()
