"""Backup and restore drill (docs/operations.md "Back-ups"): pg_dump -Fc of a schema with cases, pg_restore into
another database, `audit verify --anchors` with the anchors exported before the dump passes; restoring that
older backup against anchors exported later (after more events) is reported as truncation.

PostgreSQL only, marked `drill`.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.caches import forget_model_caches
from tests.drills import harness

pytestmark = [pytest.mark.drill, pytest.mark.slow]
FLASK = str(harness.ROOT / ".venv" / "bin" / "flask")


def _flask(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([FLASK, "--app", "wsgi", *argv], cwd=harness.ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _work(target, rounds: int) -> None:
    """Cases of the review loop with `rounds` completed tasks each."""
    from service.auth.actor import Actor
    from service.cases import commands
    from service.models import User, WorkItem

    tag = uuid.uuid4().hex[:6]
    user_id, call_id, lead_id = harness.perf_bench.loop_people(target.svc, tag, None)
    case_id = harness.perf_bench.loop_case(target.svc, user_id, call_id, lead_id, f"バックアップ{tag}")
    with target.svc.db.reader() as session:
        actor = Actor.from_user(session.get(User, user_id))
    for n in range(rounds):
        with target.svc.db.reader() as session:
            item = session.query(WorkItem).filter_by(case_id=case_id).one()
            task_id, element = item.task_id, item.element_id
        commands.complete_task(target.svc, actor, task_id, harness.perf_bench.loop_data(element, n))


def test_a_restored_backup_verifies_and_an_older_one_is_caught_by_the_anchors(tmp_path):
    url = harness.base_url()
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("needs pg_dump and pg_restore")
    libpq = make_url(url).set(drivername="postgresql")
    dsn = libpq.render_as_string(hide_password=False).split("?")[0]
    forget_model_caches()  # this schema's version ids repeat those of earlier tests in this process
    target = harness.perf_bench.Target(url, tmp_path, "backup")
    restored_db = f"tejun_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        harness.perf_bench.loop_model(target.svc)
        _work(target, 6)
        _work(target, 4)
        env = target.env()
        first = tmp_path / "anchors-before-dump.jsonl"
        out = _flask(env, "audit", "anchor", "--export", str(first))
        assert out.returncode == 0, out.stdout + out.stderr
        dump = tmp_path / "tejun.dump"
        # the documented command, for the schema tejun lives in
        subprocess.run(["pg_dump", "--format=custom", f"--schema={target.schema}", f"--file={dump}", dsn],
                       check=True, timeout=120)

        # more work after the backup, and a newer anchor exported
        _work(target, 5)
        later = tmp_path / "anchors-later.jsonl"
        out = _flask(env, "audit", "anchor", "--export", str(later))
        assert out.returncode == 0, out.stdout + out.stderr

        # restore into another database
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{restored_db}"'))
        restored_dsn = dsn.rsplit("/", 1)[0] + f"/{restored_db}"
        subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={restored_dsn}", str(dump)],
                       check=True, timeout=120)
        restored_url = (make_url(url).set(database=restored_db).render_as_string(hide_password=False).split("?")[0]
                        + f"?options=-csearch_path%3D{target.schema}")
        restored_env = {**env, "TEJUN_DATABASE_URL": restored_url}

        out = _flask(restored_env, "audit", "verify", "--anchors", str(first))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "intact" in out.stdout
        # the same backup, checked against the anchors exported later: the newest events are missing
        out = _flask(restored_env, "audit", "verify", "--anchors", str(later))
        assert out.returncode != 0
        said = out.stdout + out.stderr
        # truncation: the later anchor is not in the restored database, and streams end before what it recorded
        assert "is missing in the database compared with the exported copy" in said, said
        assert "its newest events were removed" in said, said
        # and the live database agrees with the later anchors
        out = _flask(env, "audit", "verify", "--anchors", str(later))
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)'))
        admin.dispose()
        target.drop()
