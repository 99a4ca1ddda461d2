"""Audit benchmark: how fast the event log verifies and a case replays. Prints one JSON object.

    .venv/bin/python bench/audit_bench.py                              # SQLite (a temporary file)
    .venv/bin/python bench/audit_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

It builds a fresh database (a temporary SQLite file, or a schema of its own in the PostgreSQL database,
dropped at the end), writes a synthetic history of `--events` hash-chained events spread over `--streams`
streams (event fields and payload sizes like task completions; written in bulk with the same hashing as
live appends), drives one real case through a review loop until it has `--case-events` events, then
measures:

* `verify_events_per_second`: `audit verify` over the whole log (every hash recomputed, heads, anchors);
* `anchor_seconds`: making an anchor over all stream heads;
* `replay_seconds`: replaying the real case from its record and comparing it with the stored state;
* `point_in_time_seconds`: the view after the case's middle event (what the auditor page computes).
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from service import clock  # noqa: E402
from service.audit.replay import point_in_time, replay_and_compare  # noqa: E402
from service.auth.actor import SYSTEM, Actor  # noqa: E402
from service.auth.admin import ensure_organization, ensure_user, grant_role  # noqa: E402
from service.cases import commands  # noqa: E402
from service.config import Settings  # noqa: E402
from service.designer.store import store_version  # noqa: E402
from service.eventlog.anchors import create_anchor, load_anchors  # noqa: E402
from service.eventlog.hashing import GENESIS, event_hash  # noqa: E402
from service.eventlog.verify import verify  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import Call, Case, Event, EventStream, Program, User, WorkItem  # noqa: E402
from service.services import Services  # noqa: E402
from service.unit_of_work import unit_of_work  # noqa: E402
from service.wiring import register_hooks  # noqa: E402

ACTIONS = ("task_completed", "engine_steps", "task_claimed", "message_delivered", "timer_fired")


def _payload(rng: random.Random, action: str) -> dict:
    if action == "task_completed":
        return {
            "summary": "入退室管理と情報管理の強化、研究データへのアクセス制御 " * rng.randint(1, 4),
            "measures": [{"code": f"M{rng.randint(1, 30)}", "due": "2027-03-31"} for _ in range(rng.randint(1, 4))],
            "risk_level": rng.choice(["low", "medium", "high"]),
        }
    if action == "engine_steps":
        return {"completed": [f"element_{rng.randint(1, 80)}" for _ in range(rng.randint(1, 6))]}
    if action == "message_delivered":
        return {"message": "member_added", "payload": {"user": rng.randint(1, 999)}}
    return {}


def synthetic_history(svc: Services, events: int, streams: int, seed: int = 7) -> None:
    """`events` chained events over `streams` streams, inserted in bulk."""
    rng = random.Random(seed)
    model_hash = uuid.uuid4().hex * 2
    start = datetime(2026, 4, 1, tzinfo=UTC)
    heads: dict[str, tuple[int, str]] = {}
    rows: list[dict] = []
    table = Event.__table__

    def flush(session) -> None:
        if rows:
            session.execute(insert(table), rows)
            rows.clear()

    with unit_of_work(svc) as session:
        for n in range(events):
            stream = f"bench:{n % streams}"
            seq, prev = heads.get(stream, (0, GENESIS))
            action = rng.choice(ACTIONS)
            fields = {
                "stream": stream, "seq": seq + 1, "case_id": None, "at": start + timedelta(seconds=n * 7),
                "actor_id": None, "actor_name": f"user{rng.randint(1, 300)}", "action": action,
                "task_id": str(uuid.UUID(int=rng.getrandbits(128))), "element_id": f"element_{rng.randint(1, 80)}",
                "data": _payload(rng, action), "model_hash": model_hash, "prev_hash": prev,
            }
            fields["hash"] = event_hash(fields)
            heads[stream] = (seq + 1, fields["hash"])
            rows.append(fields)
            if len(rows) >= 5000:
                flush(session)
        flush(session)
        session.execute(insert(EventStream.__table__), [
            {"stream": s, "seq": q, "head_hash": h, "updated_at": start} for s, (q, h) in heads.items()
        ])


def looping_case(svc: Services, case_events: int) -> int:
    """A real case on the review-loop test model, sent back until it has about `case_events` events."""
    files = {p.name: p.read_bytes() for p in sorted((ROOT / "tests" / "data" / "models" / "loop").iterdir())}
    with unit_of_work(svc) as session:
        store_version(session, files, set_name="bench-loop", status="published")
        fa = ensure_organization(session, SYSTEM, code="bench-fa", name="機構", name_en="Agency",
                                 kind="funding_agency")
        lead = ensure_organization(session, SYSTEM, code="bench-lead", name="大学", name_en="University",
                                   kind="institution")
        people = {}
        for name, org, role in (("so", lead, "security_officer"), ("fa", fa, "fa_officer")):
            user, _ = ensure_user(session, SYSTEM, username=f"bench-{name}", display_name=name,
                                  email=f"{name}@example.jp", password=None)
            grant_role(session, SYSTEM, user, org, role)
            people[name] = user.id
        program = Program(code="bench-prog", title="プログラム", title_en="program", funding_agency_id=fa.id,
                          designated=True, created_at=clock.now())
        session.add(program)
        session.flush()
        call = Call(program_id=program.id, code="bench-call", title="公募", risk_deadline=date(2027, 1, 29),
                    follow_up_interval="P12M", status="open", created_at=clock.now())
        session.add(call)
        session.flush()
        call_id, lead_id = call.id, lead.id
    with svc.db.reader() as session:
        so = Actor.from_user(session.get(User, people["so"]))
        fa_officer = Actor.from_user(session.get(User, people["fa"]))
    moving = clock.TravellingClock(datetime(2026, 4, 1, 9, tzinfo=UTC))
    clock.set_source(moving)
    case_id = commands.start_case(svc, so, call_id=call_id, lead_institution_id=lead_id, title="ループ",
                                  process_id="loop_case", model_set="bench-loop").case_id
    rounds = max(1, (case_events - 2) // 4)  # start: 2 events; each round: two completions, 2 events each
    for round_no in range(1, rounds + 1):
        for actor, data in ((so, {"summary": f"第{round_no}版の対策"}),
                            (fa_officer, {"decision": "accept" if round_no == rounds else "again"})):
            with svc.db.reader() as session:
                (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
            commands.complete_task(svc, actor, item.task_id, data)
            moving.advance(minutes=30)
    clock.reset()
    return case_id


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=2_000)
    parser.add_argument("--case-events", type=int, default=200)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="tejun-audit-bench-"))
    schema = None
    if args.database_url:
        schema = f"tejun_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        joiner = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{joiner}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    try:
        upgrade(url)
        settings = Settings.from_env(instance_path=workdir, database_url=url, secret_key=secrets.token_hex(16),
                                     upload_dir=workdir / "uploads")
        register_hooks()  # the use cases' hook points (service/wiring.py), as create_app does
        svc = Services.from_settings(settings)
        started = time.perf_counter()
        synthetic_history(svc, args.events, args.streams)
        generate_seconds = time.perf_counter() - started
        case_id = looping_case(svc, args.case_events)

        started = time.perf_counter()
        anchor = create_anchor(svc, "bench")
        anchor_seconds = time.perf_counter() - started

        with svc.db.reader() as session:
            anchors = load_anchors(session)
        with svc.db.engine.connect() as conn:
            report = verify(conn, anchors=anchors)
        with svc.db.reader() as session:
            case = session.get(Case, case_id)
            result = replay_and_compare(session, case)
            started = time.perf_counter()
            point_in_time(session, case, result.events // 2)
            pit_seconds = time.perf_counter() - started
        figures = {
            "database": "postgresql" if schema else "sqlite",
            "events": report.events,
            "streams": report.streams,
            "generate_seconds": round(generate_seconds, 2),
            "verify_ok": report.ok,
            "verify_seconds": round(report.seconds, 3),
            "verify_events_per_second": round(report.rate),
            "anchor_seconds": round(anchor_seconds, 3),
            "anchor_streams": anchor["stream_count"],
            "replay_case_events": result.events,
            "replay_identical": result.identical,
            "replay_seconds": round(result.seconds, 3),
            "point_in_time_seconds": round(pit_seconds, 3),
        }
        svc.db.dispose()
    finally:
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
