"""Dashboard benchmark (issue 19): the time of each dashboard query at 100,000 cases.

    .venv/bin/python bench/dashboard_bench.py                       # PostgreSQL, 100,000 cases
    .venv/bin/python bench/dashboard_bench.py --cases 5000          # smaller
    .venv/bin/python bench/dashboard_bench.py --database-url sqlite # a temporary SQLite file instead
    .venv/bin/python bench/dashboard_bench.py --keep                # keep the schema (its name is printed)
    .venv/bin/python bench/dashboard_bench.py --schema tejun_perf_dash_1a2b3c4d  # measure a kept one again
                                                                    # (migrated to head first)

Works in a PostgreSQL schema of its own (`tejun_perf_dash_<random>` in `--database-url`, created by the
migrations, dropped at the end; see bench/perf_bench.py's `Target`) and bulk-writes (COPY) a world shaped like
the procedure's output: 12 funding agencies with 3 programmes and a call each, a few hundred institutions with
a skewed (Zipf) share of cases, and per case what the dashboards read: the `cases` row (status, stage,
outcome, risk level, next timer), one open work item (some overdue, some follow-ups), the events of its
submission, FA review rounds, decision, mitigation plan and follow-up report, and screening hits for one case
in ten. Then runs every dashboard table (`service.dashboards.TABLES`) for an FA officer of the largest
agency, the security officer of the largest institution and an auditor with scope "all", and prints the
median of `--repeat` runs per query in milliseconds (and the plan's total if `--explain`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import perf_bench  # noqa: E402
from perf_bench import Target, _bulk, loop_model  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from service import clock  # noqa: E402
from service.auth.actor import Actor, Grant  # noqa: E402
from service.dashboards import TABLES, Filters, read_model  # noqa: E402
from service.eventlog.hashing import dumps as canonical_json  # noqa: E402
from service.models import (  # noqa: E402
    Call,
    Case,
    Event,
    ModelVersion,
    Organization,
    Program,
    ScreeningEntry,
    ScreeningHit,
    ScreeningSnapshot,
    ScreeningSubject,
    WorkItem,
)
from service.reference.sync import sync_reference_data  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402

MEASURES = ["M1", "M2", "M3", "M5", "M7", "M9", "M11"]


def generate(target: Target, n_cases: int, seed: int = 19) -> dict:
    rng = random.Random(seed)
    now = clock.now()
    n_fa, n_inst = 12, max(20, n_cases // 250)
    loop_model(target.svc)
    with unit_of_work(target.svc) as session:
        sync_reference_data(session)
    with target.svc.db.reader() as session:
        version_id = session.scalar(select(ModelVersion.id).where(ModelVersion.set_name == "bench-loop"))
    orgs = ([{"code": f"d-fa{i}", "name": f"機構{i}", "name_en": f"Agency {i}", "kind": "funding_agency",
              "country": "JP", "active": True, "created_at": now} for i in range(n_fa)]
            + [{"code": f"d-inst{i}", "name": f"大学{i}", "name_en": f"University {i}", "kind": "institution",
                "country": "JP", "active": True, "created_at": now} for i in range(n_inst)])
    with target.svc.db.engine.begin() as conn:
        conn.execute(insert(Organization.__table__), orgs)
        ids = dict(conn.execute(select(Organization.code, Organization.id).where(Organization.code.like("d-%"))).all())
        fa_ids = [ids[f"d-fa{i}"] for i in range(n_fa)]
        inst_ids = [ids[f"d-inst{i}"] for i in range(n_inst)]
        conn.execute(insert(Program.__table__), [
            {"code": f"d-prog{f}-{p}", "title": "プログラム", "title_en": "programme", "funding_agency_id": fa,
             "designated": True, "designation_scope": "whole", "rationale": "", "created_at": now}
            for f, fa in enumerate(fa_ids) for p in range(3)])
        programs = conn.execute(select(Program.id, Program.funding_agency_id)
                                .where(Program.code.like("d-prog%")).order_by(Program.id)).all()
        conn.execute(insert(Call.__table__), [
            {"program_id": pid, "code": f"d-call{pid}", "title": "公募", "title_en": "call",
             "risk_deadline": now.date(), "follow_up_interval": "P12M", "status": "open", "created_at": now}
            for pid, _fa in programs])
        calls = dict(conn.execute(select(Call.program_id, Call.id).where(Call.code.like("d-call%"))).all())
    inst_weights = [1 / (rank + 1) ** 0.9 for rank in range(n_inst)]
    prog_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(programs))]
    stages = [("roster", "running", None), ("identification", "running", None), ("assessment", "running", None),
              ("mitigation", "running", None), ("fa_review", "running", None), ("follow_up", "running", "accepted"),
              ("fa_review", "completed", "not_accepted"), ("follow_up", "completed", "closed")]
    stage_weights = [5, 10, 8, 7, 20, 35, 5, 10]
    plan = []
    rows = []
    for n in range(n_cases):
        inst = rng.choices(inst_ids, inst_weights)[0]
        pid, fa = rng.choices(programs, prog_weights)[0]
        stage, status, outcome = rng.choices(stages, stage_weights)[0]
        created = now - timedelta(days=rng.uniform(30, 900))
        risk = None if stage in ("roster", "identification") else rng.choice(["L0", "L0", "L1", "L2", "L3", "L4"])
        wake = now + timedelta(days=rng.uniform(1, 365)) if stage == "follow_up" and status == "running" else None
        rows.append({"reference": f"RS-D-{n:07d}", "kind": "application", "title": f"研究課題 {n}",
                     "variant": "domestic", "status": status, "stage": stage, "outcome": outcome,
                     "risk_level": risk, "funding_agency_id": fa, "lead_institution_id": inst, "program_id": pid,
                     "call_id": calls[pid], "process_id": "loop_case", "model_version_id": version_id,
                     "version": 1, "next_wakeup_at": wake, "created_at": created, "updated_at": created})
        plan.append((inst, fa, pid, stage, status, outcome, created))
    started = time.perf_counter()
    _bulk(target, Case.__table__, rows)
    with target.svc.db.reader() as session:
        case_ids = list(session.scalars(select(Case.id).where(Case.reference.like("RS-D-%")).order_by(Case.id)))
    pg = target.is_postgres

    def work_items():
        for case_id, (inst, fa, pid, stage, status, _outcome, created) in zip(case_ids, plan, strict=True):
            if status != "running":
                continue
            org, role = (fa, "fa_officer") if stage == "fa_review" else (inst, "security_officer")
            yield {"case_id": case_id, "task_id": str(uuid.UUID(int=rng.getrandbits(128))), "element_id": "edit",
                   "process_id": "loop_case", "title": "タスク", "title_en": "Task", "role": role,
                   "organization_id": org, "assignee_id": None, "form": None, "stage": stage, "priority": 1,
                   "due_at": now + timedelta(days=rng.uniform(-60, 200)), "created_at": created,
                   "claimed_at": None, "case_reference": f"RS-D-{case_id}", "case_title": "研究課題",
                   "program_id": pid, "lead_institution_id": inst}

    _bulk(target, WorkItem.__table__, work_items())

    def events():
        for case_id, (_inst, _fa, _pid, stage, _status, outcome, created) in zip(case_ids, plan, strict=True):
            out = []
            at = created + timedelta(days=20)

            def add(action, element_id, data, moment, out=out):
                out.append((action, element_id, data, moment))

            add("case_started", None, {"title": "研究課題"}, created)
            add("engine_steps", None, {"completed": ["start", "fix_team_roster"]}, created)
            if stage in ("roster", "identification", "assessment"):
                pass
            else:
                if rng.random() < 0.4:
                    add("task_completed", "plan_mitigation", {"mitigation_plan": {"measures": [
                        {"measure": rng.choice(MEASURES), "target": f"M{k}", "owner": "研究推進部",
                         "due_date": "2027-03-31"} for k in range(rng.randint(1, 3))]}}, at)
                if stage != "mitigation":
                    add("task_completed", "institutional_approval",
                        {"institutional_approval": {"decision": "approve", "approved_on": "2026-01-01"}}, at)
                    rounds = rng.choices([1, 2, 3, 4], [60, 25, 10, 5])[0]
                    for r in range(rounds):
                        at += timedelta(days=rng.uniform(3, 40))
                        last = r == rounds - 1
                        decision = ("accept" if outcome != "not_accepted" else "not_accept") if last else \
                            "request_additional_mitigation"
                        if not last or outcome:
                            review = {"decision": decision}
                            if decision == "request_additional_mitigation":
                                review["requested_measures"] = [{"measure": rng.choice(MEASURES), "detail": "…"}]
                            add("task_completed", "review_submission", {"fa_review": review}, at)
                        if decision == "request_additional_mitigation":
                            add("task_completed", "plan_additional_mitigation", {"additional_mitigation": {
                                "response_summary": "…", "measures": [{"measure": rng.choice(MEASURES),
                                                                       "target": "project", "owner": "センター",
                                                                       "due_date": "2027-03-31"}]}}, at)
                    if outcome:
                        add("task_completed", "approve_review_outcome",
                            {"fa_outcome_approval": {"approved": True}}, at + timedelta(days=2))
                    if stage == "follow_up" and rng.random() < 0.5:
                        add("task_completed", "follow_up_report", {"follow_up_report": {
                            "trigger_kind": "periodic", "measures_status": [
                                {"measure": rng.choice(MEASURES), "target": "project", "status": "implemented"}]}},
                            at + timedelta(days=365))
            prev = "0" * 64
            for seq, (action, element_id, data, moment) in enumerate(out, 1):
                digest = uuid.UUID(int=rng.getrandbits(128)).hex * 2
                yield {"stream": f"case:{case_id}", "seq": seq, "case_id": case_id, "at": moment, "actor_id": None,
                       "actor_name": "bench", "action": action, "task_id": None, "element_id": element_id,
                       "data": canonical_json(data) if pg else data, "model_hash": None, "prev_hash": prev,
                       "hash": digest}
                prev = digest

    n_events = _bulk(target, Event.__table__, events())
    with unit_of_work(target.svc) as session:
        # the read model each step writes (service/dashboards/read_model.py), derived as the migration does
        figures = read_model.rebuild(session)
    with unit_of_work(target.svc) as session:
        snapshot = ScreeningSnapshot(source="us_csl", label="bench", list_date=now.date(), file_name="b.csv",
                                     checksum="0" * 64, imported_by_name="bench", imported_at=now)
        session.add(snapshot)
        session.flush()
        entry = ScreeningEntry(snapshot_id=snapshot.id, entry_key="b-1", content_hash="0" * 64, name="X")
        session.add(entry)
        session.flush()
        snapshot_id, entry_id = snapshot.id, entry.id
    hit_cases = case_ids[::10]
    _bulk(target, ScreeningSubject.__table__, ({
        "case_id": c, "subject_id": "M1", "subject_type": "person", "name": "山田 太郎",
        "aliases": "[]" if pg else [], "affiliations": "[]" if pg else [], "first_screened_at": now,
        "last_screened_at": now} for c in hit_cases))
    with target.svc.db.reader() as session:
        subjects = dict(session.execute(select(ScreeningSubject.case_id, ScreeningSubject.id)).all())
    _bulk(target, ScreeningHit.__table__, ({
        "case_id": c, "subject_ref_id": subjects[c], "snapshot_id": snapshot_id, "entry_id": entry_id,
        "source": "us_csl", "entry_key": "b-1", "content_hash": "0" * 64, "entry_name": "X", "score": 90.0,
        "classification": rng.choice(["exact", "probable", "possible"]), "evidence": "{}" if pg else {},
        "found_by": "task", "found_at": now,
        "decision": rng.choice([None, "confirmed_match", "false_positive"])} for c in hit_cases))
    if pg:
        with target.admin.connect() as conn:
            for table in ("cases", "work_items", "events", "screening_hits", "screening_subjects", "case_parties",
                          "case_milestones", "case_measures"):
                conn.execute(text(f'VACUUM ANALYZE "{target.schema}".{table}'))
    else:
        with target.svc.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return {"cases": len(case_ids), "events": n_events, **figures, "institutions": n_inst, "funding_agencies": n_fa,
            "generate_seconds": round(time.perf_counter() - started, 1), "fa": fa_ids[0], "inst": inst_ids[0]}


class KeptTarget(Target):
    """A schema an earlier `--keep` run generated, migrated to head (new tables and indexes) and measured again."""

    def __init__(self, database_url: str, workdir: Path, schema: str):
        self.workdir, self.schema = workdir, schema
        self.admin = perf_bench.create_engine(database_url, isolation_level="AUTOCOMMIT")
        joiner = "&" if "?" in database_url else "?"
        self.url = f"{database_url}{joiner}options=-csearch_path%3D{schema}"
        perf_bench.upgrade(self.url)
        self.settings = perf_bench.Settings.from_env(instance_path=workdir, database_url=self.url,
                                                     secret_key=uuid.uuid4().hex, upload_dir=workdir / "uploads")
        self.svc = perf_bench.Services.from_settings(self.settings)

    def drop(self) -> None:
        self.svc.db.dispose()
        self.admin.dispose()

    def made(self) -> dict:
        with self.svc.db.reader() as session:
            codes = dict(session.execute(select(Organization.code, Organization.id)
                                         .where(Organization.code.in_(["d-fa0", "d-inst0"]))).all())
            cases = session.scalar(select(text("count(*)")).select_from(Case))
        return {"cases": cases, "fa": codes["d-fa0"], "inst": codes["d-inst0"]}


def measure(target: Target, made: dict, repeat: int, explain: bool) -> dict:
    viewers = {
        "fa_officer (largest FA)": Actor(1, "fa", (Grant(made["fa"], "funding_agency", "fa_officer"),)),
        "security_officer (largest institution)": Actor(2, "so", (Grant(made["inst"], "institution",
                                                                          "security_officer"),)),
        "auditor (all)": Actor(3, "au", (Grant(made["fa"], "funding_agency", "auditor", "all"),)),
    }
    results: dict[str, dict[str, float]] = {}
    for who, actor in viewers.items():
        results[who] = {}
        for name, fn in TABLES.items():
            times = []
            for _ in range(repeat):
                with target.svc.db.reader() as session:
                    start = time.perf_counter()
                    fn(session, actor, Filters())
                    times.append(time.perf_counter() - start)
            results[who][name] = round(statistics.median(times) * 1000, 1)
    if explain and target.is_postgres:
        from sqlalchemy import event as sa_event

        plans = {}
        with target.svc.db.reader() as session:
            seen = []
            sa_event.listen(session.get_bind(), "before_cursor_execute",
                            lambda conn, cur, stmt, params, ctx, many: seen.append((stmt, params)))
            TABLES["decision_time"](session, viewers["auditor (all)"], Filters())
            for stmt, params in seen[-1:]:
                plans["decision_time"] = session.connection().exec_driver_sql(
                    "EXPLAIN ANALYZE " + stmt, params).scalars().all()
        results["plans"] = plans
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated PostgreSQL schema")
    parser.add_argument("--schema", help="measure a schema kept by --keep instead of generating one")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        target = KeptTarget(args.database_url, Path(tmp), args.schema) if args.schema else \
            Target(args.database_url, Path(tmp), "dash")
        try:
            made = target.made() if args.schema else generate(target, args.cases)
            results = measure(target, made, args.repeat, args.explain)
        finally:
            if args.keep and not args.schema and target.is_postgres:
                print(f"kept schema: {target.schema}", file=sys.stderr)
                target.svc.db.dispose()
            else:
                target.drop()
    made.pop("fa"), made.pop("inst")
    out = {"data": made, "median_ms": {k: v for k, v in results.items() if k != "plans"}}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    print(f"\n{'query':<16}" + "".join(f"{who[:24]:>26}" for who in out["median_ms"]))
    for name in TABLES:
        print(f"{name:<16}" + "".join(f"{out['median_ms'][who][name]:>23.1f} ms" for who in out["median_ms"]))
    for name, plan in results.get("plans", {}).items():
        print(f"\n-- {name}\n" + "\n".join(plan))
    return out


if __name__ == "__main__":
    main()
