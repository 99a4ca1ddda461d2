"""Bulk-migration benchmark: how many running cases per second the timer worker moves to a new model version.

    .venv/bin/python bench/migration_bench.py                 # 500 cases on SQLite, and on PostgreSQL too
                                                               # when TEJUN_TEST_DATABASE_URL is set
    TEJUN_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/migration_bench.py
    .venv/bin/python bench/migration_bench.py --cases 2000 --database-url postgresql+psycopg://...  [--no-sqlite]

For each database it builds a fresh one (a temporary SQLite file; for PostgreSQL a schema of its own in the
given database, dropped at the end), applies the migrations, stores the loop test model (tests/data/models/loop)
as a published version, starts `--cases` cases on it and moves every fourth one on to the review, stores
loop_v2 (a new confirm step and a changed review form), then does what the designer's pages do:
`request_bulk` (which previews every case first) and the worker's loop, `run_jobs` in batches of
`--batch` cases (TEJUN_WORKER_BATCH's default), until the job is done. It prints one line per database and a
JSON object: `migrate_cases_per_second` (the worker's part), `preview_cases_per_second` (request_bulk), and
the counts the job recorded (all cases must migrate).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from service import clock  # noqa: E402
from service.auth.actor import SYSTEM, Actor  # noqa: E402
from service.auth.admin import ensure_organization, ensure_user, grant_role  # noqa: E402
from service.cases import commands, migration  # noqa: E402
from service.config import Settings  # noqa: E402
from service.designer import versions  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import Call, Case, Program, User, WorkItem  # noqa: E402
from service.services import Services  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402
from service.wiring import register_hooks  # noqa: E402

MODELS = ROOT / "tests" / "data" / "models"
SET_NAME = "bench"


def _files(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((MODELS / folder).iterdir()) if p.is_file()}


def _actor(svc: Services, user_id: int) -> Actor:
    with svc.db.reader() as session:
        return Actor.from_user(session.get(User, user_id))


def _world(svc: Services) -> tuple[Actor, Actor, int, int]:
    """An agency with a designated program and an open call, an institution, a designer and an officer."""
    with unit_of_work(svc) as session:
        fa = ensure_organization(session, SYSTEM, code="bench-fa", name="ベンチ機構", name_en="Bench agency",
                                 kind="funding_agency")
        lead = ensure_organization(session, SYSTEM, code="bench-uni", name="ベンチ大学", name_en="Bench university",
                                   kind="institution")
        password = secrets.token_urlsafe(16)
        designer, _ = ensure_user(session, SYSTEM, username="bench-designer", display_name="designer",
                                  email="designer@example.jp", password=password)
        grant_role(session, SYSTEM, designer, fa, "process_designer", "organization")
        officer, _ = ensure_user(session, SYSTEM, username="bench-officer", display_name="officer",
                                 email="officer@example.jp", password=password)
        grant_role(session, SYSTEM, officer, lead, "security_officer", "organization")
        program = Program(code="bench-prog", title="ベンチ", title_en="Bench", funding_agency_id=fa.id,
                          designated=True, created_at=clock.now())
        session.add(program)
        session.flush()
        call = Call(program_id=program.id, code="bench-call", title="公募", risk_deadline=date(2027, 1, 29),
                    follow_up_interval="P12M", status="open", created_at=clock.now())
        session.add(call)
        session.flush()
        ids = designer.id, officer.id, call.id, lead.id
    return _actor(svc, ids[0]), _actor(svc, ids[1]), ids[2], ids[3]


def run(url: str, label: str, cases: int, batch: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="tejun-migration-bench-"))
    schema = None
    admin = None
    if url == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        schema = f"tejun_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    svc = None
    try:
        upgrade(url)
        settings = Settings.from_env(instance_path=workdir, database_url=url, secret_key=secrets.token_hex(16),
                                     upload_dir=workdir / "uploads", db_pool_size=5)
        register_hooks()  # the use cases' hook points (service/wiring.py), as create_app does
        svc = Services.from_settings(settings)
        designer, officer, call_id, lead_id = _world(svc)
        v1, _ = versions.upload_draft(svc, designer, _files("loop"), "bench v1", set_name=SET_NAME)
        versions.publish(svc, designer, v1)

        started = time.perf_counter()
        case_ids = [commands.start_case(svc, officer, call_id=call_id, lead_institution_id=lead_id,
                                        title=f"bench {i}", process_id="loop_case", model_set=SET_NAME).case_id
                    for i in range(cases)]
        for case_id in case_ids[::4]:
            with svc.db.reader() as session:
                item = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).one()
            commands.complete_task(svc, officer, item.task_id, {"summary": "s"})
        setup_seconds = time.perf_counter() - started

        v2, _ = versions.upload_draft(svc, designer, _files("loop_v2"), "bench v2", set_name=SET_NAME)
        versions.publish(svc, designer, v2)

        started = time.perf_counter()
        job_id = migration.request_bulk(svc, designer, case_ids, v2)
        preview_seconds = time.perf_counter() - started

        started = time.perf_counter()
        while True:
            handled = migration.run_jobs(svc, limit_cases=batch)
            with svc.db.reader() as session:
                progress = migration.job_progress(session, job_id)
            if progress["status"] == "done" or handled == 0:
                break
        migrate_seconds = time.perf_counter() - started

        with svc.db.reader() as session:
            on_new = session.scalar(select(text("count(*)")).select_from(Case).where(Case.model_version_id == v2))
        result = {
            "database": label,
            "cases": cases,
            "migrate_seconds": round(migrate_seconds, 2),
            "migrate_cases_per_second": round(cases / migrate_seconds, 1),
            "preview_seconds": round(preview_seconds, 2),
            "preview_cases_per_second": round(cases / preview_seconds, 1),
            "setup_seconds": round(setup_seconds, 1),
            "counts": progress["counts"],
            "on_new_version": on_new,
        }
        if progress["status"] != "done" or progress["counts"] != {"migrated": cases} or on_new != cases:
            raise SystemExit(f"{label}: the migration did not move every case: {result}")
        return result
    finally:
        if svc is not None:
            svc.db.dispose()
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500, help="running cases to migrate (default 500)")
    parser.add_argument("--batch", type=int, default=50, help="cases per worker round (default 50)")
    parser.add_argument("--database-url", default=os.environ.get("TEJUN_TEST_DATABASE_URL"),
                        help="PostgreSQL URL (default: TEJUN_TEST_DATABASE_URL); a schema of its own is used")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args(argv)
    logging.getLogger("spiff").setLevel(logging.WARNING)  # the engine logs every task state change
    targets = [] if args.no_sqlite else [("sqlite", "sqlite")]
    if args.database_url:
        targets.append((args.database_url, "postgresql"))
    results = []
    for url, label in targets:
        result = run(url, label, args.cases, args.batch)
        print(f"{label}: {result['cases']} cases migrated in {result['migrate_seconds']} s = "
              f"{result['migrate_cases_per_second']} cases/s (preview {result['preview_cases_per_second']} cases/s)",
              flush=True)
        results.append(result)
    print(json.dumps(results, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
