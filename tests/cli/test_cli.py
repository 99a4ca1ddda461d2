"""The stable command-line forms: demo, worker, models sync."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import func, select

from service.models import Membership, ModelVersion, User
from tests.conftest import ROOT


def test_demo_is_idempotent_and_prints_every_account(app, settings):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-cases"])
    assert first.exit_code == 0, first.output
    svc = app.extensions["tejun"]
    with svc.db.reader() as session:
        counts = (session.scalar(select(func.count()).select_from(User)),
                  session.scalar(select(func.count()).select_from(Membership)))
    second = runner.invoke(args=["demo", "--no-cases"])
    assert second.exit_code == 0
    with svc.db.reader() as session:
        assert counts == (session.scalar(select(func.count()).select_from(User)),
                          session.scalar(select(func.count()).select_from(Membership)))
    passwords = json.loads((settings.instance_path / "demo-accounts.json").read_text())
    for role in ("fa_officer", "fa_manager", "security_officer", "institution_admin", "researcher",
                 "ministry_officer", "process_designer", "auditor", "system_admin"):
        assert role in second.output
    # the same passwords are printed each time, and they work
    for username, password in passwords.items():
        assert f"{username}" in second.output and password in second.output
    assert oct((settings.instance_path / "demo-accounts.json").stat().st_mode)[-3:] == "600"


def test_models_sync_stores_a_version_only_when_content_changed(app):
    runner = app.test_cli_runner()
    svc = app.extensions["tejun"]
    with svc.db.reader() as session:
        before = session.scalar(select(func.count()).select_from(ModelVersion))
    result = runner.invoke(args=["models", "sync"])
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output
    with svc.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == before


def test_worker_once_exits_after_one_round(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "processed" in result.output


def test_the_cli_entry_point_works_as_a_real_process(settings, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions")
    env = {"TEJUN_DATABASE_URL": settings.database_url, "TEJUN_INSTANCE_PATH": str(settings.instance_path),
           "TEJUN_SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "models", "validate", str(broken)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"{broken}:-: ")
    assert "Traceback" not in result.stdout + result.stderr
