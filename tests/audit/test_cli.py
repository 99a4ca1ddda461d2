"""The audit commands on a database of their own (so "every chain intact" means exactly this test's log).

`flask --app wsgi audit verify | anchor | replay | dossier`, and the offline dossier check, run the way an
operator or an auditor would run them.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from service import clock
from service.app import create_app
from service.auth.actor import SYSTEM, Actor
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.cases import commands
from service.config import Settings
from service.designer.store import store_version
from service.eventlog import verify as verify_module
from service.eventlog.anchors import load_anchors
from service.migrate import upgrade
from service.models import Call, Program, User, WorkItem
from service.unit_of_work import unit_of_work
from tests.caches import forget_model_caches
from tests.conftest import DATA, ROOT, _with_search_path


@pytest.fixture(autouse=True)
def _own_caches():
    forget_model_caches()
    yield
    forget_model_caches()


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """An application on a fresh database (a new SQLite file, or a new schema in the PostgreSQL database)."""
    forget_model_caches()  # this module-scoped set-up runs before the per-test clearing: ids restart here
    base = os.environ.get("TEJUN_TEST_DATABASE_URL")
    schema = None
    if base:
        schema = f"tejun_audit_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _with_search_path(base, schema)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('audit-db') / 'audit.sqlite3'}"
    upgrade(url)
    instance = tmp_path_factory.mktemp("audit-instance")
    app = create_app(Settings.from_env(instance_path=instance, database_url=url,
                                       secret_key=secrets.token_hex(16), upload_dir=instance / "uploads"))
    app.config.update(TESTING=True)
    yield app
    app.extensions["tejun"].db.dispose()
    if schema:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def case_id(isolated) -> int:
    """Organizations, people, a call, and one case taken twice round the review loop, with claims."""
    svc = isolated.extensions["tejun"]
    moving = clock.TravellingClock(datetime(2026, 5, 11, 1, 30, tzinfo=UTC))
    clock.set_source(moving)
    try:
        files = {p.name: p.read_bytes() for p in sorted((DATA / "models" / "loop").iterdir())}
        with unit_of_work(svc) as session:
            store_version(session, files, set_name="loop", status="published")
            fa = ensure_organization(session, SYSTEM, code="cli-fa", name="機構", name_en="Agency",
                                     kind="funding_agency")
            lead = ensure_organization(session, SYSTEM, code="cli-lead", name="大学", name_en="University",
                                       kind="institution")
            people = {}
            for name, org, role in (("so", lead, "security_officer"), ("fa", fa, "fa_officer")):
                user, _ = ensure_user(session, SYSTEM, username=f"cli-{name}", display_name=name,
                                      email=f"cli-{name}@example.jp", password=None)
                grant_role(session, SYSTEM, user, org, role)
                people[name] = user.id
            program = Program(code="cli-prog", title="プログラム", title_en="program", funding_agency_id=fa.id,
                              designated=True, created_at=clock.now())
            session.add(program)
            session.flush()
            call = Call(program_id=program.id, code="cli-call", title="公募", risk_deadline=date(2027, 1, 29),
                        follow_up_interval="P12M", status="open", created_at=clock.now())
            session.add(call)
            session.flush()
            call_id, lead_id = call.id, lead.id
        with svc.db.reader() as session:
            so, fa_officer = (Actor.from_user(session.get(User, people[n])) for n in ("so", "fa"))
        started = commands.start_case(svc, so, call_id=call_id, lead_institution_id=lead_id, title="量子計測",
                                      process_id="loop_case", model_set="loop").case_id
        for round_no, decision in ((1, "again"), (2, "accept")):
            for actor, data in ((so, {"summary": f"第{round_no}版"}), (fa_officer, {"decision": decision})):
                moving.advance(hours=3)
                with svc.db.reader() as session:
                    (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == started)).all()
                commands.claim_task(svc, actor, item.task_id)
                commands.complete_task(svc, actor, item.task_id, data)
        return started
    finally:
        clock.reset()


def _run(isolated, *args):
    return isolated.test_cli_runner().invoke(args=list(args))


def test_verify_anchor_and_verify_against_the_exported_anchors(isolated, case_id, tmp_path):
    first = _run(isolated, "audit", "verify")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("intact: ") and "no anchor yet" in first.output
    anchors = tmp_path / "anchors.jsonl"
    made = _run(isolated, "audit", "anchor", "--export", str(anchors))
    assert made.exit_code == 0, made.output
    again = _run(isolated, "audit", "verify", "--anchors", str(anchors), "--json")
    report = json.loads(again.output)
    assert again.exit_code == 0 and report["ok"] and report["latest_anchor"]["seq"] == 1
    assert report["events"] >= 20 and report["streams"] == 2  # the case and the system (administration)
    only_export = _run(isolated, "audit", "anchor", "--no-new", "--export", str(tmp_path / "copy.jsonl"))
    assert only_export.exit_code == 0 and (tmp_path / "copy.jsonl").read_text() == anchors.read_text()


def test_parallel_verification_checks_the_same(isolated, case_id, monkeypatch):
    svc = isolated.extensions["tejun"]
    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 0)
    with svc.db.reader() as session:
        anchors = load_anchors(session)
    with svc.db.engine.connect() as conn:
        single = verify_module.verify(conn, anchors=anchors, workers=1)
    with svc.db.engine.connect() as conn:
        parallel = verify_module.verify(conn, anchors=anchors, workers=3, database_url=svc.db.url)
    assert parallel.workers == 2 and single.workers == 1  # two streams: two ranges at most
    assert (parallel.ok, parallel.events, parallel.streams) == (single.ok, single.events, single.streams) == (
        True, single.events, single.streams)


def test_replay_every_case(isolated, case_id):
    replayed = _run(isolated, "audit", "replay", "--all")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.startswith(f"identical: case {case_id} (RS-2026-")
    assert _run(isolated, "audit", "replay").exit_code == 2  # a case or --all


@pytest.fixture(scope="module")
def verifier(tmp_path_factory):
    """The dossier checker alone: service/__init__.py, two files of service/audit and three of service/eventlog,
    nothing else."""
    place = tmp_path_factory.mktemp("verifier")
    (place / "service" / "__init__.py").parent.mkdir(parents=True)
    (place / "service" / "__init__.py").write_bytes((ROOT / "service" / "__init__.py").read_bytes())
    for name in ("audit/__init__.py", "audit/dossier.py", "eventlog/__init__.py", "eventlog/hashing.py",
                 "eventlog/offline.py"):
        (place / "service" / name).parent.mkdir(exist_ok=True)
        (place / "service" / name).write_bytes((ROOT / "service" / name).read_bytes())

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
        # -S: no site-packages at all, so the check provably needs nothing installed
        return subprocess.run([sys.executable, "-S", "-m", "service.audit.dossier", *args], capture_output=True,
                              text=True, env=env, cwd=place, check=False)

    return run


def test_a_dossier_verifies_offline_and_tampering_with_it_does_not(isolated, case_id, tmp_path, verifier):
    anchors = tmp_path / "anchors.jsonl"
    assert _run(isolated, "audit", "anchor", "--export", str(anchors)).exit_code == 0
    target = tmp_path / "case.zip"
    made = _run(isolated, "audit", "dossier", str(case_id), "-o", str(target))
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    model = f"models/{manifest['model_versions'][0]['hash']}"
    assert {"manifest.json", "events.jsonl", "report.html", f"{model}/loop.bpmn", f"{model}/edit.schema.json"} <= names
    assert manifest["replay"]["identical"] and manifest["chain"] == "intact" and manifest["anchors"]

    checked = verifier("verify", str(target), "--anchors", str(anchors))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every hash and link intact" in checked.stdout and "the anchor file (" in checked.stdout

    # someone edits a submitted answer in the copy they were given
    changed = tmp_path / "changed.zip"
    _rewrite(target, changed, "events.jsonl", lambda text: text.replace("第1版", "第9版"))
    refused = verifier("verify", str(changed))
    assert refused.returncode == 1
    assert refused.stdout.splitlines()[0] == ("FAILED: events.jsonl does not match its SHA-256 in the manifest "
                                              "(it was changed)")

    # ... and fixes the manifest's file hash too: the events' own hashes still give it away
    sneaky = tmp_path / "sneaky.zip"
    _rewrite(target, sneaky, "events.jsonl", lambda text: text.replace("第1版", "第9版"), fix_manifest=True)
    refused = verifier("verify", str(sneaky))
    assert refused.returncode == 1
    assert "the hash does not match the event's content" in refused.stdout.splitlines()[0]


def _rewrite(source, target, name: str, change, fix_manifest: bool = False) -> None:
    import hashlib

    with zipfile.ZipFile(source) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files[name] = change(files[name].decode()).encode()
    if fix_manifest:
        manifest = json.loads(files["manifest.json"])
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n, content in files.items():
            archive.writestr(n, content)
    target.write_bytes(buffer.getvalue())


def test_the_report_is_printable_html_in_japanese(isolated, case_id, tmp_path):
    target = tmp_path / "case.zip"
    assert _run(isolated, "audit", "dossier", str(case_id), "-o", str(target)).exit_code == 0
    with zipfile.ZipFile(target) as archive:
        report = archive.read("report.html").decode()
    assert '<html lang="ja">' in report and "@media print" in report
    assert "第2版" in report and "<td>so</td>" in report
    assert "RS-2026-" in report and (datetime(2026, 5, 11, 1, 30, tzinfo=UTC) + timedelta(hours=9)).strftime(
        "%Y-%m-%d %H:%M") in report  # times in Japan time


def test_publishing_models_and_loading_reference_data_are_recorded(isolated, case_id, tmp_path, monkeypatch):
    from dataclasses import replace

    from service.eventlog.chain import SYSTEM_STREAM
    from service.models import Event
    from service.reference.sync import sync_reference_data

    svc = isolated.extensions["tejun"]
    bpmn, forms = tmp_path / "bpmn", tmp_path / "forms"
    bpmn.mkdir()
    forms.mkdir()
    for path in (DATA / "models" / "timers").iterdir():
        (bpmn if path.suffix == ".bpmn" else forms).joinpath(path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(svc, "settings", replace(svc.settings, bpmn_dir=bpmn, forms_dir=forms))
    result = _run(isolated, "models", "sync", "--comment", "FY2026 revision")
    assert result.exit_code == 0, result.output
    assert _run(isolated, "models", "sync").exit_code == 0  # unchanged: nothing published, nothing recorded
    with unit_of_work(svc) as session:
        sync_reference_data(session)
        sync_reference_data(session)  # the second time nothing is new
    with svc.db.reader() as session:
        events = session.scalars(select(Event).where(Event.stream == SYSTEM_STREAM).order_by(Event.seq)).all()
    published = [e for e in events if e.action == "model_version_published"]
    assert [(e.actor_name, e.data["comment"], e.data["via"]) for e in published] == [
        ("cli", "FY2026 revision", "models sync")]
    loaded = [e for e in events if e.action == "reference_data_loaded"]
    assert len(loaded) == 1 and loaded[0].data["technology_area_lists"] >= 1
