"""Performance benchmark (issue 9): task throughput over HTTP, queue latency, history growth, audit, memory.

    make bench                                          # the full run on PostgreSQL (takes minutes)
    .venv/bin/python bench/perf_bench.py --quick        # a small run (what tests/bench/test_perf_smoke.py does)
    .venv/bin/python bench/perf_bench.py --database-url sqlite   # everything on SQLite files instead

It works in a PostgreSQL schema of its own (`tejun_perf_<random>` in the `--database-url` database, dropped
at the end; never another schema) or in temporary SQLite files, generates its own data and measures:

a. `http`: gunicorn (`--workers` sync workers) serving wsgi:app; each client signs in once
   (POST /api/v1/auth/token), then loops: GET /api/v1/tasks?tab=team (its next task), POST
   /api/v1/tasks/<id>/complete. Each client has its own funding agency, institution and case on the
   review-loop test model (tests/data/models/loop: "edit" then "review", sent back every time), so clients
   never race for one task. Completions/s and p50/p95 latency of the complete call and of the whole cycle,
   at `--clients` (1, 8, 32) concurrent clients.
b. `queues`: `--cases` cases, `--work-items` work items and `--events` events bulk-written (COPY on
   PostgreSQL, executemany on SQLite) over a few hundred institutions with a skewed (Zipf) share of cases;
   p50/p95 of `service.queues.queries.queue()` (count + first page, what /tasks and GET /api/v1/tasks run)
   per tab, for the security officer of the largest institution, a middling one and the largest FA's officer.
c. `history`: the cost of one completion (service level, `commands.complete_task`) when the case already
   has 10, 100, 300 completed tasks; `ratio` = median at 300 / median at 10.
d. `audit`: bench/audit_bench.py (verify events/s over `--audit-events`, replay of a 200-event case).
e. `memory`: peak RSS (VmHWM from /proc) of each gunicorn worker after (a), and of `flask --app wsgi worker`
   after it ran `--worker-seconds` against the bench data.

Prints one JSON object (figures, targets met, `uptime` load before and after each part) and a short table.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import audit_bench  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from service import clock  # noqa: E402
from service.auth.actor import SYSTEM, Actor, Grant  # noqa: E402
from service.auth.admin import ensure_organization, ensure_user, grant_role  # noqa: E402
from service.cases import commands  # noqa: E402
from service.config import Settings  # noqa: E402
from service.designer.store import store_version  # noqa: E402
from service.eventlog.hashing import dumps as canonical_json  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import (  # noqa: E402
    Call,
    Case,
    Event,
    EventStream,
    Membership,
    ModelVersion,
    Organization,
    Program,
    User,
    WorkItem,
)
from service.queues import queries as queues  # noqa: E402
from service.services import Services  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402
from service.wiring import register_hooks  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-Passw0rd-" + "x" * 8
LOOP_MODELS = ROOT / "tests" / "data" / "models" / "loop"

TARGETS = {
    "http_completions_per_second_at_32": (">=", 300),
    "http_complete_p95_ms_at_8": ("<=", 100),
    "queue_p95_ms_worst_tab": ("<=", 30),
    "history_ratio_300_to_10": ("<=", 1.5),
    "audit_verify_events_per_second": (">=", 100_000),
    "audit_replay_seconds": ("<", 1.0),
    "web_worker_peak_rss_mb": ("<=", 200),
    "timer_worker_peak_rss_mb": ("<=", 200),
}

QUICK = {"clients": "1,2,4", "duration": 2.0, "warmup": 0.5, "workers": 2, "threads": 1, "cases": 2_000,
         "work_items": 20_000, "events": 20_000, "queue_reps": 5, "history": "2,5,10", "history_samples": 3,
         "audit_events": 5_000, "case_events": 20, "worker_seconds": 2.0}
# two sync workers: one per core of the 2-core machine measured best (docs/performance.md, round 2: gunicorn)
FULL = {"clients": "1,8,32", "duration": 20.0, "warmup": 3.0, "workers": 2, "threads": 1, "cases": 100_000,
        "work_items": 1_000_000, "events": 1_000_000, "queue_reps": 30, "history": "10,100,300",
        "history_samples": 15, "audit_events": 200_000, "case_events": 200, "worker_seconds": 10.0}


# -- helpers -----------------------------------------------------------------------------------------------
def load() -> str:
    """The `uptime` load averages, recorded with every measurement (the machine is shared)."""
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by these processes (those that have exited count nothing)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (the bench's backends among them)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if fh.read().strip() == "postgres":
                        found.append(int(entry))
            except OSError:
                continue
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O) since boot."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def cpu_snapshot(workers: list[int]) -> dict[str, float]:
    own = os.times()
    return {"web_workers": cpu_seconds(workers), "postgresql": cpu_seconds(postgres_pids()),
            "bench_clients": own.user + own.system, "machine": machine_busy_seconds()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    """One bench database: a PostgreSQL schema of our own, or a SQLite file; dropped/removed at the end."""

    def __init__(self, database_url: str, workdir: Path, name: str):
        self.workdir = workdir
        self.schema = None
        if database_url == "sqlite":
            self.url = f"sqlite:///{workdir / (name + '.sqlite3')}"
            self.admin = None
        else:
            self.schema = f"tejun_perf_{name}_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            joiner = "&" if "?" in database_url else "?"
            self.url = f"{database_url}{joiner}options=-csearch_path%3D{self.schema}"
        upgrade(self.url)
        self.settings = Settings.from_env(instance_path=workdir, database_url=self.url,
                                          secret_key=secrets.token_hex(16), upload_dir=workdir / "uploads")
        register_hooks()  # the use cases' hook points (service/wiring.py), as create_app does
        self.svc = Services.from_settings(self.settings)

    @property
    def is_postgres(self) -> bool:
        return self.schema is not None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEJUN_")}
        env.update(TEJUN_DATABASE_URL=self.url, TEJUN_SECRET_KEY=self.settings.secret_key,
                   TEJUN_INSTANCE_PATH=str(self.workdir), TEJUN_UPLOAD_DIR=str(self.workdir / "uploads"),
                   TEJUN_WORKER_INTERVAL="1", TEJUN_LOGIN_MAX_FAILURES="1000")
        return env

    def drop(self) -> None:
        self.svc.db.dispose()
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.admin.dispose()


def loop_model(svc: Services, set_name: str = "bench-loop") -> None:
    files = {p.name: p.read_bytes() for p in sorted(LOOP_MODELS.iterdir()) if p.is_file()}
    with unit_of_work(svc) as session:
        if session.scalar(select(ModelVersion.id).where(ModelVersion.set_name == set_name)) is None:
            store_version(session, files, set_name=set_name, status="published")


def loop_people(svc: Services, tag: str, password: str | None) -> tuple[int, int, int]:
    """A funding agency with a designated program and open call, an institution, and one person who is the
    institution's security officer and the agency's officer (so one client can drive the loop alone)."""
    with unit_of_work(svc) as session:
        fa = ensure_organization(session, SYSTEM, code=f"{tag}-fa", name=f"機構{tag}", name_en=f"Agency {tag}",
                                 kind="funding_agency")
        lead = ensure_organization(session, SYSTEM, code=f"{tag}-inst", name=f"大学{tag}",
                                   name_en=f"University {tag}", kind="institution")
        user, _ = ensure_user(session, SYSTEM, username=f"{tag}-user", display_name=tag, email=f"{tag}@example.jp",
                              password=password)
        grant_role(session, SYSTEM, user, lead, "security_officer")
        grant_role(session, SYSTEM, user, fa, "fa_officer")
        program = Program(code=f"{tag}-prog", title="プログラム", title_en="program", funding_agency_id=fa.id,
                          designated=True, created_at=clock.now())
        session.add(program)
        session.flush()
        call = Call(program_id=program.id, code=f"{tag}-call", title="公募", risk_deadline=date(2027, 1, 29),
                    follow_up_interval="P12M", status="open", created_at=clock.now())
        session.add(call)
        session.flush()
        return user.id, call.id, lead.id


def loop_case(svc: Services, user_id: int, call_id: int, lead_id: int, title: str) -> int:
    with svc.db.reader() as session:
        actor = Actor.from_user(session.get(User, user_id))
    return commands.start_case(svc, actor, call_id=call_id, lead_institution_id=lead_id, title=title,
                               process_id="loop_case", model_set="bench-loop").case_id


def loop_data(element_id: str, n: int) -> dict:
    if element_id == "edit":
        return {"summary": f"第{n}版の対策: 入退室管理と研究データへのアクセス制御"}
    return {"decision": "again"}


# -- a: HTTP throughput ------------------------------------------------------------------------------------
class Api:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn.request(method, path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, (json.loads(raw) if raw else {})

    def login(self, username: str) -> None:
        status, body = self.call("POST", "/api/v1/auth/token",
                                 {"username": username, "password": PASSWORD, "name": "bench"})
        if status != 201:
            raise RuntimeError(f"sign-in failed for {username}: {status} {body}")
        self.headers["Authorization"] = f"Bearer {body['token']}"


def _drive(api: Api, stop: threading.Event, counting: threading.Event, out: dict) -> None:
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        status, body = api.call("GET", "/api/v1/tasks?tab=team&per_page=1&sort=created")
        if status != 200 or not body.get("items"):
            out["errors"] += 1
            time.sleep(0.01)
            continue
        item = body["items"][0]
        n += 1
        sent = time.perf_counter()
        status, _ = api.call("POST", f"/api/v1/tasks/{item['task_id']}/complete",
                             {"data": loop_data(item["element_id"], n)})
        done = time.perf_counter()
        if status != 200:
            out["errors"] += 1
            continue
        if counting.is_set():
            out["cycle"].append(done - started)
            out["complete"].append(done - sent)
            out["fetch"].append(sent - started)


def http_part(target: Target, args, workdir: Path) -> tuple[dict, dict]:
    levels = [int(n) for n in args.clients.split(",")]
    loop_model(target.svc)
    people = []
    for n in range(max(levels)):
        user_id, call_id, lead_id = loop_people(target.svc, f"http{n}", PASSWORD)
        loop_case(target.svc, user_id, call_id, lead_id, f"ループ{n}")
        people.append(f"http{n}-user")
    port = free_port()
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(args.workers), "--threads", str(args.threads),
         "--bind", f"127.0.0.1:{port}",
         "--timeout", "120", "wsgi:app"],
        cwd=ROOT, env=target.env(), stdout=log, stderr=subprocess.STDOUT,
    )
    figures: dict = {"workers": args.workers, "threads": args.threads, "levels": {}}
    memory: dict = {}
    try:
        deadline = time.time() + 60
        status = None
        while True:
            try:
                status, _ = Api(port).call("GET", "/healthz")
                if status == 200:
                    break
            except (OSError, ValueError):
                pass
            if gunicorn.poll() is not None or time.time() > deadline:
                # the log goes into the message: the work folder is removed when the benchmark ends
                raise RuntimeError(f"gunicorn did not start (exit {gunicorn.poll()}, /healthz answered {status}):\n"
                                   + (workdir / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.2)
        clients = []
        for username in people:
            api = Api(port)
            api.login(username)
            clients.append(api)
        for level in levels:
            stop, counting = threading.Event(), threading.Event()
            outs = [{"cycle": [], "complete": [], "fetch": [], "errors": 0} for _ in range(level)]
            threads = [threading.Thread(target=_drive, args=(clients[i], stop, counting, outs[i]), daemon=True)
                       for i in range(level)]
            before = load()
            for thread in threads:
                thread.start()
            time.sleep(args.warmup)
            workers = children_of(gunicorn.pid)
            cpu_before = cpu_snapshot(workers)
            counting.set()
            started = time.perf_counter()
            time.sleep(args.duration)
            counting.clear()
            elapsed = time.perf_counter() - started
            cpu_after = cpu_snapshot(workers)
            stop.set()
            for thread in threads:
                thread.join(timeout=130)
            cycle = [v for o in outs for v in o["cycle"]]
            complete = [v for o in outs for v in o["complete"]]
            fetch = [v for o in outs for v in o["fetch"]]
            figures["levels"][str(level)] = {
                "completions": len(cycle),
                "completions_per_second": round(len(cycle) / elapsed, 1),
                "complete_p50_ms": ms(pct(complete, 50)), "complete_p95_ms": ms(pct(complete, 95)),
                "fetch_p50_ms": ms(pct(fetch, 50)), "fetch_p95_ms": ms(pct(fetch, 95)),
                "cycle_p50_ms": ms(pct(cycle, 50)), "cycle_p95_ms": ms(pct(cycle, 95)),
                "errors": sum(o["errors"] for o in outs),
                # where the CPU went, per completed cycle (fetch + complete); "other" is the rest of the machine
                "cpu_ms_per_completion": cpu_split(cpu_before, cpu_after, len(cycle)),
                "load_before": before, "load_after": load(),
            }
        workers = children_of(gunicorn.pid)
        memory["web_worker_peak_rss_mb"] = {str(pid): peak_rss_mb(pid) for pid in workers}
        memory["web_master_peak_rss_mb"] = peak_rss_mb(gunicorn.pid)
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        log.close()
    return figures, memory


def cpu_split(before: dict, after: dict, completions: int) -> dict:
    used = {key: after[key] - before[key] for key in before}
    used["other"] = used["machine"] - used["web_workers"] - used["postgresql"] - used["bench_clients"]
    return {key: round(1000 * value / max(completions, 1), 2) for key, value in used.items()}


# -- e: timer worker memory ------------------------------------------------------------------------------
def worker_memory(target: Target, args, workdir: Path) -> dict:
    """`flask --app wsgi worker` against the bench data (cases with due timers are made due first)."""
    with unit_of_work(target.svc) as session:
        session.execute(text("UPDATE cases SET next_wakeup_at = :now WHERE id IN "
                             "(SELECT id FROM cases ORDER BY id LIMIT 200)"), {"now": clock.now()})
    log = open(workdir / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "worker"], cwd=ROOT,
                            env=target.env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(args.worker_seconds)
        peak = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return {"timer_worker_peak_rss_mb": peak, "timer_worker_alive": peak is not None}


# -- b: queues ----------------------------------------------------------------------------------------------
def _bulk(target: Target, table, rows) -> int:
    """COPY (PostgreSQL) or executemany (SQLite) of dict rows, in chunks; returns the row count."""
    cols = None
    count = 0
    if target.is_postgres:
        raw = target.svc.db.engine.raw_connection()
        try:
            cur = raw.cursor()
            it = iter(rows)
            first = next(it, None)
            if first is None:
                return 0
            cols = list(first)
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write_row([first[c] for c in cols])
                count += 1
                for row in it:
                    copy.write_row([row[c] for c in cols])
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    chunk: list[dict] = []
    with target.svc.db.engine.begin() as conn:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= 10_000:
                conn.execute(insert(table), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            conn.execute(insert(table), chunk)
            count += len(chunk)
    return count


def queue_data(target: Target, args, seed: int = 9) -> dict:
    """Organizations, people, cases, work items and events in bulk, with a realistic skew."""
    rng = random.Random(seed)
    now = clock.now()
    n_inst = max(20, args.cases // 250)
    n_fa = 12
    loop_model(target.svc)
    with target.svc.db.reader() as session:
        version_id = session.scalar(select(ModelVersion.id).where(ModelVersion.set_name == "bench-loop"))
    orgs = ([{"code": f"q-fa{i}", "name": f"機構{i}", "name_en": f"Agency {i}", "kind": "funding_agency",
              "country": "JP", "active": True, "created_at": now} for i in range(n_fa)]
            + [{"code": f"q-inst{i}", "name": f"大学{i}", "name_en": f"University {i}", "kind": "institution",
                "country": "JP", "active": True, "created_at": now} for i in range(n_inst)])
    with target.svc.db.engine.begin() as conn:
        conn.execute(insert(Organization.__table__), orgs)
        ids = dict(conn.execute(select(Organization.code, Organization.id).where(Organization.code.like("q-%"))).all())
        fa_ids = [ids[f"q-fa{i}"] for i in range(n_fa)]
        inst_ids = [ids[f"q-inst{i}"] for i in range(n_inst)]
        conn.execute(insert(Program.__table__), [
            {"code": f"q-prog{f}-{p}", "title": "プログラム", "title_en": "program", "funding_agency_id": fa,
             "designated": True, "designation_scope": "whole", "rationale": "", "created_at": now}
            for f, fa in enumerate(fa_ids) for p in range(3)])
        programs = conn.execute(select(Program.id, Program.funding_agency_id)
                                .where(Program.code.like("q-prog%"))).all()
        conn.execute(insert(Call.__table__), [
            {"program_id": pid, "code": f"q-call{pid}", "title": "公募", "title_en": "call",
             "risk_deadline": date(2027, 1, 29), "follow_up_interval": "P12M", "status": "open", "created_at": now}
            for pid, _fa in programs])
        calls = dict(conn.execute(select(Call.program_id, Call.id).where(Call.code.like("q-call%"))).all())
        users, staff = [], {}
        roles_per_inst = (("security_officer", 3), ("institution_admin", 1), ("researcher", 4))
        for org in inst_ids:
            for role, k in roles_per_inst:
                for j in range(k):
                    users.append({"username": f"q-{org}-{role}-{j}", "email": "", "display_name": f"{role} {j}",
                                  "locale": "ja", "active": True, "failed_logins": 0, "created_at": now,
                                  "session_generation": 0, "_org": org, "_role": role})
        for org in fa_ids:
            for j in range(4):
                users.append({"username": f"q-{org}-fa_officer-{j}", "email": "", "display_name": f"officer {j}",
                              "locale": "ja", "active": True, "failed_logins": 0, "created_at": now,
                              "session_generation": 0, "_org": org, "_role": "fa_officer"})
        conn.execute(insert(User.__table__), [{k: v for k, v in u.items() if not k.startswith("_")} for u in users])
        user_ids = dict(conn.execute(select(User.username, User.id).where(User.username.like("q-%"))).all())
        conn.execute(insert(Membership.__table__), [
            {"user_id": user_ids[u["username"]], "organization_id": u["_org"], "role": u["_role"],
             "scope": "organization", "created_at": now} for u in users])
        for u in users:
            staff.setdefault((u["_org"], u["_role"]), []).append(user_ids[u["username"]])
    # a few large universities hold most cases (Zipf); agencies' programs likewise
    inst_weights = [1 / (rank + 1) ** 0.9 for rank in range(n_inst)]
    prog_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(programs))]
    case_rows = []
    case_meta = []
    statuses = ["running"] * 8 + ["completed", "error"]
    for n in range(args.cases):
        inst = rng.choices(inst_ids, inst_weights)[0]
        pid, fa = rng.choices(programs, prog_weights)[0]
        created = now - timedelta(days=rng.uniform(0, 700))
        case_rows.append({
            "reference": f"RS-Q-{n:07d}", "kind": "application", "title": f"研究課題 {n} 量子材料の応用",
            "variant": "domestic" if rng.random() < 0.85 else "foreign_joint", "status": rng.choice(statuses),
            "stage": rng.choice(["identification", "assessment", "mitigation", "fa_review", "follow_up"]),
            "funding_agency_id": fa, "lead_institution_id": inst, "program_id": pid, "call_id": calls[pid],
            "process_id": "loop_case", "model_version_id": version_id, "version": rng.randint(1, 40),
            "created_at": created, "updated_at": created + timedelta(days=rng.uniform(0, 60)),
        })
        case_meta.append((inst, fa, pid, f"RS-Q-{n:07d}", f"研究課題 {n} 量子材料の応用"))
    started = time.perf_counter()
    _bulk(target, Case.__table__, case_rows)
    with target.svc.db.reader() as session:
        case_ids = list(session.scalars(select(Case.id).where(Case.reference.like("RS-Q-%")).order_by(Case.id)))
    titles = [("リスクの特定", "Identify risks"), ("リスクの評価", "Assess risks"),
              ("リスク低減措置", "Mitigation"), ("審査", "Review"), ("フォローアップ", "Follow-up")]

    def work_items():
        for _ in range(args.work_items):
            k = rng.randrange(len(case_ids))
            inst, fa, pid, reference, title = case_meta[k]
            pick = rng.random()
            org, role = ((inst, "security_officer") if pick < 0.55 else (inst, "researcher") if pick < 0.70
                         else (inst, "institution_admin") if pick < 0.75 else (fa, "fa_officer"))
            assignee = rng.choice(staff[(org, role)]) if rng.random() < 0.35 else None
            created = now - timedelta(days=rng.uniform(0, 200))
            t_title, t_en = rng.choice(titles)
            yield {
                "case_id": case_ids[k], "task_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "element_id": "edit", "process_id": "loop_case", "title": t_title, "title_en": t_en, "role": role,
                "organization_id": org, "assignee_id": assignee, "form": "edit.schema.json", "stage": "mitigation",
                "priority": rng.choice([0, 1, 1, 1, 2, 3]),
                "due_at": None if rng.random() < 0.1 else now + timedelta(days=rng.uniform(-60, 120)),
                "created_at": created, "claimed_at": created if assignee else None,
                "case_reference": reference, "case_title": title, "program_id": pid, "lead_institution_id": inst,
            }

    _bulk(target, WorkItem.__table__, work_items())
    per_case = max(1, args.events // max(1, len(case_ids)))
    actions = ("task_completed", "engine_steps", "task_claimed", "message_delivered", "timer_fired")

    def events():
        written = 0
        for case_id in case_ids:
            prev = "0" * 64
            for seq in range(1, per_case + 1):
                if written >= args.events:
                    return
                action = rng.choice(actions)
                digest = uuid.UUID(int=rng.getrandbits(128)).hex * 2
                data = {"completed": ["edit", "count_round"]} if action == "engine_steps" else {"summary": "対策"}
                yield {"stream": f"case:{case_id}", "seq": seq, "case_id": case_id, "at": now, "actor_id": None,
                       "actor_name": "bench", "action": action, "task_id": None, "element_id": "edit",
                       "data": canonical_json(data) if target.is_postgres else data, "model_hash": None,
                       "prev_hash": prev, "hash": digest}
                prev = digest
                written += 1

    n_events = _bulk(target, Event.__table__, events())
    _bulk(target, EventStream.__table__, ({"stream": f"case:{c}", "seq": per_case, "head_hash": "0" * 64,
                                           "updated_at": now} for c in case_ids))
    # a table that has been in use is vacuumed and analyzed (autovacuum); freshly loaded rows are not yet
    if target.is_postgres:
        with target.admin.connect() as conn:
            for table_name in ("cases", "work_items", "events", "event_streams", "users", "memberships"):
                conn.execute(text(f'VACUUM ANALYZE "{target.schema}".{table_name}'))
    else:
        with target.svc.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    generate_seconds = time.perf_counter() - started
    with target.svc.db.reader() as session:
        n_items = session.scalar(select(WorkItem.id).order_by(WorkItem.id.desc()).limit(1))
    biggest_inst, middle_inst, biggest_fa = inst_ids[0], inst_ids[n_inst // 2], fa_ids[0]

    def actor(org, kind, role):
        uid = staff[(org, role)][0]
        return Actor(uid, f"q-{org}-{role}-0", (Grant(org, kind, role),))

    return {
        "actors": {"largest_institution_officer": actor(biggest_inst, "institution", "security_officer"),
                   "middle_institution_officer": actor(middle_inst, "institution", "security_officer"),
                   "largest_fa_officer": actor(biggest_fa, "funding_agency", "fa_officer")},
        "cases": len(case_ids), "work_items": n_items, "events": n_events, "institutions": n_inst,
        "funding_agencies": n_fa, "generate_seconds": round(generate_seconds, 1),
    }


def queue_part(target: Target, args) -> dict:
    before = load()
    made = queue_data(target, args)
    timings: dict[str, list[float]] = {tab: [] for tab in queues.TABS}
    per_actor: dict[str, dict] = {}
    count_timings: list[float] = []
    for name, actor in made["actors"].items():
        per_actor[name] = {}
        for tab in queues.TABS:
            runs = []
            for rep in range(args.queue_reps):
                started = time.perf_counter()
                with target.svc.db.reader() as session:
                    page = queues.queue(session, actor, tab, page=1 + rep % 3)
                runs.append(time.perf_counter() - started)
            timings[tab] += runs
            per_actor[name][tab] = {"p50_ms": ms(pct(runs, 50)), "p95_ms": ms(pct(runs, 95)), "total": page.total}
        for _ in range(args.queue_reps):
            started = time.perf_counter()
            with target.svc.db.reader() as session:
                queues.counts(session, actor)
            count_timings.append(time.perf_counter() - started)
    tabs = {tab: {"p50_ms": ms(pct(v, 50)), "p95_ms": ms(pct(v, 95))} for tab, v in timings.items()}
    return {
        **{k: v for k, v in made.items() if k != "actors"},
        "tabs": tabs, "per_actor": per_actor,
        "counts_p50_ms": ms(pct(count_timings, 50)), "counts_p95_ms": ms(pct(count_timings, 95)),
        "worst_tab_p95_ms": max(t["p95_ms"] for t in tabs.values()),
        "load_before": before, "load_after": load(),
    }


# -- c: history growth ------------------------------------------------------------------------------------
def history_part(target: Target, args, profile_path: Path | None = None) -> dict:
    points = [int(n) for n in args.history.split(",")]
    loop_model(target.svc)
    user_id, call_id, lead_id = loop_people(target.svc, "hist", None)
    case_id = loop_case(target.svc, user_id, call_id, lead_id, "履歴")
    with target.svc.db.reader() as session:
        actor = Actor.from_user(session.get(User, user_id))
    before = load()
    done = 0
    results: dict = {}
    profiler = None

    def complete_next(timed: list[float] | None, cpu: list[float] | None = None) -> None:
        nonlocal done
        with target.svc.db.reader() as session:
            item = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).one()
        data = loop_data(item.element_id, done)
        started, started_cpu = time.perf_counter(), time.process_time()
        commands.complete_task(target.svc, actor, item.task_id, data)
        if timed is not None:
            timed.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        done += 1

    for point in points:
        while done < point:
            complete_next(None)
        if target.is_postgres and args.vacuum:
            # months pass between a real case's rounds, and autovacuum with them: without this, the few rows
            # this one case rewrites hundreds of times in seconds (its stream head, state, work item) are
            # measured with hundreds of dead versions that no production table would keep
            with target.admin.connect() as conn:
                for table_name in ("event_streams", "case_states", "cases", "work_items", "events"):
                    conn.execute(text(f'VACUUM ANALYZE "{target.schema}".{table_name}'))
        if profile_path is not None and point == points[-1]:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        runs: list[float] = []
        cpu: list[float] = []
        for _ in range(args.history_samples):
            complete_next(runs, cpu)
        if profiler is not None:
            profiler.stop()
            profile_path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        # wall time includes the database's share; the bench process's own CPU time (the engine, routing,
        # hashing, SQLAlchemy) is much less disturbed by other load on a shared machine
        results[str(point)] = {"median_ms": ms(statistics.median(runs)), "p95_ms": ms(pct(runs, 95)),
                               "cpu_median_ms": ms(statistics.median(cpu))}
    first, last = results[str(points[0])], results[str(points[-1])]
    return {"points": results,
            "ratio": round(last["median_ms"] / first["median_ms"], 2) if first["median_ms"] else None,
            "cpu_ratio": round(last["cpu_median_ms"] / first["cpu_median_ms"], 2) if first["cpu_median_ms"] else None,
            "load_before": before, "load_after": load()}


# -- d: audit -----------------------------------------------------------------------------------------------
def audit_part(database_url: str, args) -> dict:
    argv = ["--events", str(args.audit_events), "--streams", str(max(10, args.audit_events // 100)),
            "--case-events", str(args.case_events)]
    if database_url != "sqlite":
        argv += ["--database-url", database_url]
    before = load()
    with contextlib.redirect_stdout(io.StringIO()):
        figures = audit_bench.main(argv)
    return {**figures, "load_before": before, "load_after": load()}


# -- report -------------------------------------------------------------------------------------------------
def headline(pg: dict) -> dict:
    http = pg.get("http", {}).get("levels", {})
    levels = sorted(http, key=int)
    top = levels[-1] if levels else None
    second = "8" if "8" in http else (levels[1] if len(levels) > 1 else top)
    web = pg.get("memory", {}).get("web_worker_peak_rss_mb", {})
    return {
        "http_completions_per_second_at_32": http[top]["completions_per_second"] if top else None,
        "http_complete_p95_ms_at_8": http[second]["complete_p95_ms"] if second else None,
        "queue_p95_ms_worst_tab": pg.get("queues", {}).get("worst_tab_p95_ms"),
        "history_ratio_300_to_10": pg.get("history", {}).get("ratio"),
        "audit_verify_events_per_second": pg.get("audit", {}).get("verify_events_per_second"),
        "audit_replay_seconds": pg.get("audit", {}).get("replay_seconds"),
        "web_worker_peak_rss_mb": max((v for v in web.values() if v), default=None),
        "timer_worker_peak_rss_mb": pg.get("memory", {}).get("timer_worker_peak_rss_mb"),
    }


def met(value, rule) -> bool | None:
    if value is None:
        return None
    op, limit = rule
    return {">=": value >= limit, "<=": value <= limit, "<": value < limit}[op]


def table(results: dict, figures: dict) -> str:
    lines = [f"{'figure':40} {'value':>12}  target      met"]
    for key, rule in TARGETS.items():
        value = figures.get(key)
        ok = met(value, rule)
        lines.append(f"{key:40} {value if value is not None else '-':>12}  {rule[0]}{rule[1]:<9} "
                     f"{'yes' if ok else 'NO' if ok is False else '-'}")
    for db, parts in results.items():
        for level, row in parts.get("http", {}).get("levels", {}).items():
            lines.append(f"{db} http {level:>2} clients: {row['completions_per_second']:7.1f}/s  complete p50/p95 "
                         f"{row['complete_p50_ms']}/{row['complete_p95_ms']} ms  cycle p95 {row['cycle_p95_ms']} ms"
                         f"  errors {row['errors']}  load {row['load_after']}")
            cpu = row.get("cpu_ms_per_completion", {})
            lines.append("      CPU ms per completion: " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
        for tab, row in parts.get("queues", {}).get("tabs", {}).items():
            lines.append(f"{db} queue {tab:8} p50/p95 {row['p50_ms']}/{row['p95_ms']} ms")
        for point, row in parts.get("history", {}).get("points", {}).items():
            lines.append(f"{db} history {point:>4} completed: median {row['median_ms']} ms"
                         f" (bench process CPU {row['cpu_median_ms']} ms)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEJUN_BENCH_DATABASE_URL", DEFAULT_PG),
                        help="PostgreSQL URL to make a schema in, or 'sqlite' (default: %(default)s)")
    parser.add_argument("--also-sqlite", action="store_true", help="also run history and audit on SQLite")
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs (the smoke test)")
    parser.add_argument("--parts", default="http,queues,history,audit,memory")
    parser.add_argument("--no-vacuum", dest="vacuum", action="store_false",
                        help="history: do not VACUUM the case's tables before each measured point")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the history part here")
    parser.add_argument("--json-out", type=Path, help="also write the JSON figures to this file")
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None)
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    parts = set(args.parts.split(","))
    databases = [args.database_url] + (["sqlite"] if args.also_sqlite and args.database_url != "sqlite" else [])

    # stopped with SIGTERM: still drop the schema and stop gunicorn (the `finally` blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="tejun-perf-bench-"))
    results: dict = {}
    started = time.perf_counter()
    try:
        for n, database_url in enumerate(databases):
            name = "sqlite" if database_url == "sqlite" else "postgresql"
            out = results[name] = {}
            first = n == 0
            if first and ({"http", "memory"} & parts):
                target = Target(database_url, workdir, "http")
                try:
                    if "http" in parts:
                        out["http"], memory = http_part(target, args, workdir)
                        out["memory"] = memory
                    if "memory" in parts:
                        out.setdefault("memory", {}).update(worker_memory(target, args, workdir))
                finally:
                    target.drop()
            if first and "queues" in parts:
                target = Target(database_url, workdir, "queues")
                try:
                    out["queues"] = queue_part(target, args)
                finally:
                    target.drop()
            if "history" in parts:
                target = Target(database_url, workdir, "history")
                try:
                    out["history"] = history_part(target, args, args.profile if first else None)
                finally:
                    target.drop()
            if "audit" in parts:
                out["audit"] = audit_part(database_url, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures_db = "sqlite" if args.database_url == "sqlite" else "postgresql"
    figures = headline(results.get(figures_db, {}))
    report = {
        "database": figures_db, "quick": args.quick, "cpus": os.cpu_count(), "gunicorn_workers": args.workers,
        "figures": figures,
        "targets_met": {k: met(figures.get(k), rule) for k, rule in TARGETS.items()},
        "results": results, "seconds": round(time.perf_counter() - started, 1), "load_end": load(),
    }
    text_table = table(results, figures)
    print(json.dumps(report, default=str))
    print(text_table)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, default=str, indent=1))
    return report


if __name__ == "__main__":
    main()
