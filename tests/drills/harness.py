"""What the fault drills run: a PostgreSQL schema of their own with the drill procedure, "hosts" (gunicorn with
an instance folder each, same database and secret), timer workers, and load clients that retry by themselves.

Everything listens on and talks to 127.0.0.1 only; every loop is bounded in count and in time.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import perf_bench  # noqa: E402  (bench/perf_bench.py: Target, loop_people, free_port)

MODEL = Path(__file__).resolve().parent / "model"
PG_VERSION_DIR = Path("/etc/postgresql")
# a request that takes longer than this is a hang (the client gives up on it and counts it as one)
REQUEST_BOUND_SECONDS = 15.0


def base_url() -> str:
    url = os.environ.get("TEJUN_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("fault drills run on PostgreSQL only (TEJUN_TEST_DATABASE_URL)")
    return url


def pg_cluster() -> tuple[str, str]:
    """(version, name) of the local cluster the drills may restart (pg_ctlcluster of postgresql-common)."""
    if shutil.which("pg_ctlcluster") is None or not PG_VERSION_DIR.is_dir():
        pytest.skip("restarting PostgreSQL needs pg_ctlcluster (Debian's postgresql-common)")
    versions = sorted((p.name for p in PG_VERSION_DIR.iterdir() if (p / "main").is_dir()), key=float)
    if not versions:
        pytest.skip("no local PostgreSQL cluster under /etc/postgresql")
    return versions[-1], "main"


def pg_ctl(action: str, cluster: tuple[str, str], timeout: float = 60) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], action],
                   check=True, timeout=timeout, capture_output=True)


def pg_running(cluster: tuple[str, str]) -> bool:
    out = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], "status"],
                         capture_output=True, timeout=30)
    return out.returncode == 0


def ensure_pg_running(cluster: tuple[str, str]) -> None:
    """Whatever happened, leave PostgreSQL running."""
    if not pg_running(cluster):
        pg_ctl("start", cluster)


def publish_drill_model(svc) -> None:
    from service.designer.store import DEFAULT_SET, store_version
    from service.unit_of_work import unit_of_work

    files = {p.name: p.read_bytes() for p in sorted(MODEL.iterdir()) if p.is_file()}
    with unit_of_work(svc) as session:
        store_version(session, files, set_name=DEFAULT_SET, status="published")


class Process:
    """A child process in a session of its own (so kill -9 of the group takes gunicorn and its workers)."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def signal(self, signum: int) -> None:
        os.killpg(self.proc.pid, signum)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Host(Process):
    """One "host": gunicorn serving wsgi:app with an instance folder of its own."""

    def __init__(self, name: str, env: dict, workdir: Path, workers: int = 1):
        instance = workdir / f"instance-{name}"
        (instance / "uploads").mkdir(parents=True, exist_ok=True)
        env = {**env, "TEJUN_INSTANCE_PATH": str(instance), "TEJUN_UPLOAD_DIR": str(instance / "uploads")}
        self.port = perf_bench.free_port()
        argv = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(workers), "--bind",
                f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5", "wsgi:app"]
        super().__init__(name, argv, env, workdir / f"{name}.log")

    def ready(self, within: float = 60) -> float:
        """Wait until /readyz answers 200; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {within} s: {self.log_path.read_text()[-3000:]}")


@dataclass
class Seen:
    at: float  # monotonic
    status: int | str  # an HTTP status, or "connection" (no answer: the host was gone)
    seconds: float
    method: str
    path: str
    detail: str = ""


@dataclass
class Client:
    """A user at a browser behind the load balancer: opens cases, completes tasks; retries with backoff."""

    username: str
    password: str
    call_id: int
    lead_id: int
    hosts: list[Host]
    preferred: int
    max_cases: int = 3
    seen: list[Seen] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # task ids whose completion answered 200
    opened: list[int] = field(default_factory=list)  # case ids whose opening answered 201
    completed_at: list[float] = field(default_factory=list)
    token: str | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int | str, dict, dict]:
        host = self.hosts[self.preferred % len(self.hosts)]
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=REQUEST_BOUND_SECONDS)
            try:
                conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                             headers=headers)
                response = conn.getresponse()
                raw = response.read()
                try:
                    answer = json.loads(raw) if raw else {}
                except ValueError:  # not a problem+json answer: kept for the report
                    answer = {"detail": raw[:200].decode(errors="replace")}
                status = response.status
                response_headers = {k.lower(): v for k, v in response.getheaders()}
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            # the load balancer's part: the next try goes to the other host
            self.preferred += 1
            self.seen.append(Seen(time.monotonic(), "connection", time.monotonic() - started, method, path,
                                  type(exc).__name__))
            return "connection", {}, {}
        self.seen.append(Seen(time.monotonic(), status, time.monotonic() - started, method, path,
                              str(answer.get("detail", ""))[:200] if status >= 400 else ""))
        return status, answer, response_headers

    def retrying(self, method: str, path: str, body: dict | None, stop: threading.Event,
                 done_when=(200, 201), attempts: int = 40) -> tuple[int | str, dict]:
        """Send until an answer that is not 503 / no answer (bounded); backoff 0.1 s doubling to 2 s."""
        status, answer = "connection", {}
        for attempt in range(attempts):
            status, answer, headers = self.request(method, path, body)
            if status in done_when or (isinstance(status, int) and status not in (502, 503, 504)):
                return status, answer
            if stop.is_set() and attempt > 3:
                break
            delay = min(2.0, 0.1 * 2 ** attempt)
            retry_after = headers.get("retry-after", "")
            if retry_after.isdigit():
                delay = max(delay, min(float(retry_after), 5.0))
            time.sleep(delay)
        return status, answer

    def sign_in(self, stop: threading.Event) -> None:
        status, answer = self.retrying("POST", "/api/v1/auth/token",
                                       {"username": self.username, "password": self.password, "name": "drill"},
                                       stop)
        if status != 201:
            raise RuntimeError(f"{self.username} could not sign in: {status} {answer}")
        self.token = answer["token"]

    def open_case(self, stop: threading.Event) -> None:
        status, answer = self.retrying("POST", "/api/v1/cases", {"call_id": self.call_id, "lead_institution_id":
                                                                  self.lead_id, "title": "演習案件"}, stop)
        if status == 201:
            self.opened.append(answer["case_id"] if "case_id" in answer else answer["id"])

    def run(self, stop: threading.Event, max_iterations: int = 3000) -> None:
        self.sign_in(stop)
        self.open_case(stop)
        n = 0
        for _ in range(max_iterations):  # bounded: the drill stops it far earlier
            if stop.is_set():
                return
            status, answer = self.retrying("GET", "/api/v1/tasks?tab=team&per_page=1&sort=created", None, stop)
            if status != 200 or not answer.get("items"):
                time.sleep(0.05)
                continue
            item = answer["items"][0]
            n += 1
            data = ({"summary": f"{self.username} round {n}"} if item["element_id"] == "edit"
                    else {"decision": "again"})
            status, answer = self.retrying("POST", f"/api/v1/tasks/{item['task_id']}/complete", {"data": data},
                                           stop, done_when=(200,))
            if status == 200:
                self.acknowledged.append(item["task_id"])
                self.completed_at.append(time.monotonic())
                if n % 15 == 0 and len(self.opened) < self.max_cases:
                    self.open_case(stop)


def due_cases(engine, ids: list[int] | None = None) -> int:
    """Running cases whose timer is due (of `ids` only, when given)."""
    query = "SELECT id FROM cases WHERE status = 'running' AND next_wakeup_at <= now()"
    with engine.connect() as conn:
        due = set(conn.execute(text(query)).scalars())
    return len(due & set(ids)) if ids is not None else len(due)


def in_transaction(engine, application_name: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND xact_start IS NOT NULL"
        ), {"name": application_name}).scalar_one())


def waiting_cases(engine) -> int:
    """Running cases with a timer still ahead (the drill's cases have one timer each)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM cases WHERE status = 'running' AND next_wakeup_at IS NOT NULL"
                                 )).scalar_one()
