"""Checking the event log: every chain intact, every stream head where it should be, anchors honoured.

The events are streamed in (stream, seq) order straight from the driver's cursor (a server-side cursor on
PostgreSQL; no ORM objects), and each one's hash is recomputed. Large logs are split into ranges of stream
names checked by parallel processes. Per stream the first problem is reported (what follows it is a
consequence), naming the stream, seq, event id and what is wrong:

* a seq that skips numbers: events were removed;
* an event written before the one preceding it (smaller id): that one was inserted later, or the rows
  were reordered;
* a prev_hash that is not the previous event's hash: an event before it was removed, inserted or altered
  (or the rows were reordered: then it names the event it really follows);
* a hash that does not match the event's content: the row was altered;
* a stream shorter than its head row (`event_streams`) or than the latest anchor says, or disagreeing with
  a hash an anchor recorded: the newest events were cut off, or the stream was rewritten.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring

from sqlalchemy import String, Text, and_, cast, func, literal_column, select, text, type_coerce
from sqlalchemy.engine import Connection

from ..models import Event, EventStream
from .hashing import GENESIS, event_hash
from .offline import AnchorChain, check_chain

EVENTS = Event.__table__
BATCH = 20_000
# below this many events one process is quicker than starting others (each takes ~0.5 s to start)
PARALLEL_FROM = 1_000_000


@dataclass
class Problem:
    stream: str
    seq: int | None
    event_id: int | None
    message: str

    def __str__(self) -> str:
        where = self.stream
        if self.seq is not None:
            where += f" seq {self.seq}"
        if self.event_id is not None:
            where += f" (event id {self.event_id})"
        return f"{where}: {self.message}"


@dataclass
class Report:
    streams: int = 0
    events: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    anchor: dict | None = None
    workers: int = 1

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class _Part:
    """One worker's result over a range of streams."""

    events: int
    seen: list[str]
    problems: list[Problem]


@dataclass
class _Expect:
    """What the heads rows and anchors say streams must hold (for the streams of one range, or all)."""

    heads: dict[str, tuple[int, str]]
    recorded: dict[tuple[str, int], tuple[str, int]]
    anchored: dict[str, tuple[int, str]]
    latest_anchor: int | None


def verify(
    conn: Connection,
    *,
    stream: str | None = None,
    anchors: list[dict] | None = None,
    external_anchors: list[dict] | None = None,
    workers: int | None = None,
    database_url: str | None = None,
    batch: int = BATCH,
) -> Report:
    """Check every stream (or one) against its hashes, its head row and the anchors.

    `anchors` are the database's (ordered by seq); `external_anchors` an exported copy kept elsewhere, which
    the database's must agree with. With `database_url` and more than one worker (default: one per CPU), a
    large log is split into ranges of streams checked by separate processes.
    """
    started = time.perf_counter()
    report = Report()
    chain = _anchor_chain(report, anchors or [], external_anchors)
    heads_query = select(EventStream.stream, EventStream.seq, EventStream.head_hash)
    if stream is not None:
        heads_query = heads_query.where(EventStream.stream == stream)
    heads = {name: (seq, head) for name, seq, head in conn.execute(heads_query)}
    anchored = chain.heads if stream is None else {k: v for k, v in chain.heads.items() if k == stream}
    expect = _Expect(heads, chain.recorded, anchored, chain.latest["seq"] if chain.latest else None)
    workers = workers or os.cpu_count() or 1
    total = sum(seq for seq, _h in heads.values())
    if stream is None and database_url and workers > 1 and total >= PARALLEL_FROM:
        bounds = _partition(conn, workers)
        conn.rollback()  # hold no snapshot or lock while the workers read
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(bounds), mp_context=context) as pool:
            parts = list(pool.map(_check_range, [(database_url, lo, hi, expect, batch) for lo, hi in bounds]))
        report.workers = len(bounds)
    else:
        parts = [_check(conn, _where(stream, None, None), expect, batch)]
    seen: set[str] = set()
    for part in parts:
        report.events += part.events
        report.problems.extend(part.problems)
        seen.update(part.seen)
    for name in sorted(set(heads) - seen):
        report.problems.append(Problem(name, None, None, f"the head row says seq {heads[name][0]} but the stream "
                                                         "has no events: they were removed"))
    for name in sorted(set(anchored) - seen - set(heads)):
        report.problems.append(Problem(name, None, None, f"anchor {expect.latest_anchor} recorded seq "
                                                         f"{anchored[name][0]} but the stream has no events: "
                                                         "they were removed"))
    report.problems.sort(key=lambda p: (p.stream != "anchors" and not p.stream.startswith("anchors "), p.stream))
    report.streams = len(seen)
    report.seconds = time.perf_counter() - started
    return report


def verify_log(svc, *, stream: str | None = None, external_anchors: list[dict] | None = None,
               workers: int | None = None) -> Report:
    """`verify` of the services' database against its own anchors, on a connection of its own."""
    from .anchors import anchors_of

    with svc.db.engine.connect() as conn:
        return verify(conn, stream=stream, anchors=anchors_of(svc), external_anchors=external_anchors,
                      workers=workers, database_url=svc.db.url)


def _where(stream: str | None, lo: str | None, hi: str | None):
    column = EVENTS.c.stream
    if stream is not None:
        return column == stream
    clauses = []
    if lo is not None:
        clauses.append(column >= lo)
    if hi is not None:
        clauses.append(column < hi)
    return and_(*clauses) if clauses else None


def _partition(conn: Connection, parts: int) -> list[tuple[str | None, str | None]]:
    """Contiguous ranges of stream names with about equal numbers of events, cut in the database's own
    ordering (its collation), so the ranges cover every stream exactly once."""
    rows = conn.execute(select(EventStream.stream, EventStream.seq).order_by(EventStream.stream)).all()
    total = sum(seq for _s, seq in rows)
    cuts: list[str] = []
    running = 0
    for name, seq in rows:
        if running >= total * (len(cuts) + 1) / parts and len(cuts) < parts - 1:
            cuts.append(name)
        running += seq
    edges = [None, *cuts, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _check_range(args) -> _Part:
    """A worker process: check the streams in [lo, hi) on its own connection."""
    from ..db import make_engine

    url, lo, hi, expect, batch = args
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return _check(conn, _where(None, lo, hi), expect, batch)
    finally:
        engine.dispose()


def _columns(dialect: str):
    """The event columns as the driver returns them, without SQLAlchemy's per-row conversions (speed):
    `at` as SQLite's stored text or PostgreSQL's datetime, `data` as its stored JSON text."""
    c = EVENTS.c
    if dialect == "postgresql":
        # the server writes the hashed time form itself (the session is put in UTC first): no datetime objects
        at = func.to_char(c.at, literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""))
        data = cast(c.data, Text)
    else:
        at, data = type_coerce(c.at, String), type_coerce(c.data, String)
    return (c.id, c.stream, c.seq, c.case_id, at, c.actor_id, c.actor_name, c.action, c.task_id, c.element_id,
            data, c.model_hash, c.prev_hash, c.hash)


def _rows(conn: Connection, where, batch: int):
    """Event rows in (stream, seq) order as plain tuples, straight from the driver's cursor: a server-side
    (named) cursor on PostgreSQL, fetched `batch` rows at a time, so memory stays flat however long the log."""
    dialect = conn.dialect
    query = select(*_columns(dialect.name)).order_by(EVENTS.c.stream, EVENTS.c.seq)
    if where is not None:
        query = query.where(where)
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.dbapi_connection
    if dialect.name == "postgresql":
        conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))  # datetimes come back in UTC
        cursor = raw.cursor(name=f"tejun_verify_{os.getpid():x}_{id(conn):x}")
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while True:
            chunk = cursor.fetchmany(batch)
            if not chunk:
                break
            yield from chunk
    finally:
        cursor.close()


def _iso_at(value) -> str:
    """An event time as hashed, from the driver's value (text on SQLite, datetime on PostgreSQL)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if len(value) == 32 and value.endswith("+00:00"):  # PostgreSQL's, written by to_char in _columns
        return value
    if len(value) == 26 and value[10] == " ":  # SQLite's stored form: 2026-04-01 09:00:00.000000 (UTC)
        return f"{value[:10]}T{value[11:]}+00:00"
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat(
        timespec="microseconds")


def _check(conn: Connection, where, expect: _Expect, batch: int) -> _Part:
    """The hot loop: recompute every hash of the selected streams and check links, heads and anchors."""
    heads, recorded, anchored = expect.heads, expect.recorded, expect.anchored
    problems: list[Problem] = []
    seen: list[str] = []
    bad_streams: set[str] = set()
    sha256 = hashlib.sha256
    enc = encode_basestring
    name_cur: str | None = None
    seq_cur, hash_cur, id_cur, bad = 0, GENESIS, 0, False
    text_cur = ""
    count = 0

    def close(name: str, seq: int, last_hash: str, last_id: int) -> None:
        seen.append(name)
        head = heads.get(name)
        if head is None:
            problems.append(Problem(name, seq, last_id, "the stream has no head row (event_streams)"))
        elif head != (seq, last_hash):
            problems.append(Problem(
                name, seq, last_id,
                f"the stream ends at seq {seq} but its head row says seq {head[0]}: "
                + ("events after it were removed" if head[0] > seq else "the head row or the events were altered"),
            ))
        else:
            at_anchor = anchored.get(name)
            if at_anchor is not None and at_anchor[0] > seq:
                problems.append(Problem(
                    name, seq, last_id,
                    f"the stream ends at seq {seq} but anchor {expect.latest_anchor} recorded seq {at_anchor[0]}: "
                    "its newest events were removed",
                ))

    for (event_id, name, seq, case_id, at, actor_id, actor_name, action, task_id, element_id, data, model_hash,
         prev_hash, stored_hash) in _rows(conn, where, batch):
        count += 1
        if name != name_cur:
            if name_cur is not None:
                if bad:
                    seen.append(name_cur)
                else:
                    close(name_cur, seq_cur, hash_cur, id_cur)
            name_cur, seq_cur, hash_cur, id_cur, bad = name, 0, GENESIS, 0, False
            text_cur = enc(name)
        elif bad:
            continue
        problem = None
        if seq != seq_cur + 1:
            problem = f"expected seq {seq_cur + 1}, found {seq}: events {seq_cur + 1}..{seq - 1} were removed"
        elif event_id <= id_cur:
            problem = (f"it was written before the event preceding it (id {id_cur}): that one was inserted later, "
                       "or the rows were reordered")
        elif prev_hash != hash_cur:
            problem = ("prev_hash is not the previous event's hash: an event before it was removed, inserted or "
                       "altered")
        else:
            # the canonical text of hashing.canonical() built directly, keys in sorted order, `data` as stored
            # (models.event.CanonicalJSON): much faster than encoding a dict. A mismatch is checked again the
            # reference way (parse and re-encode) before it counts.
            if at.__class__ is str and len(at) == 26 and at[10] == " ":  # SQLite's stored text (UTC)
                at_text = f"{at[:10]}T{at[11:]}+00:00"
            elif at.__class__ is str and len(at) == 32 and at[10] == "T":  # PostgreSQL's to_char (_columns)
                at_text = at
            else:
                at_text = _iso_at(at)
            body = (
                f'{{"action":{"null" if action is None else enc(action)},'
                f'"actor_id":{"null" if actor_id is None else actor_id},'
                f'"actor_name":{"null" if actor_name is None else enc(actor_name)},"at":"{at_text}",'
                f'"case_id":{"null" if case_id is None else case_id},"data":{"null" if data is None else data},'
                f'"element_id":{"null" if element_id is None else enc(element_id)},'
                f'"model_hash":{"null" if model_hash is None else enc(model_hash)},"prev_hash":"{prev_hash}",'
                f'"seq":{seq},"stream":{text_cur},"task_id":{"null" if task_id is None else enc(task_id)}}}'
            )
            if sha256((prev_hash + body).encode()).hexdigest() != stored_hash and not _reference_match(
                    name, seq, case_id, at, actor_id, actor_name, action, task_id, element_id, data, model_hash,
                    prev_hash, stored_hash):
                problem = "the hash does not match the event's content: the row was altered"
            elif recorded:
                anchored_hash = recorded.get((name, seq))
                if anchored_hash is not None and anchored_hash[0] != stored_hash:
                    problem = (f"anchor {anchored_hash[1]} recorded another hash for this event: the stream up to "
                               "here was rewritten after it was anchored")
        if problem is not None:
            problems.append(Problem(name, seq, event_id, problem))
            bad = True
            bad_streams.add(name)
        seq_cur, hash_cur, id_cur = seq, stored_hash, event_id
    if name_cur is not None:
        if bad:
            seen.append(name_cur)
        else:
            close(name_cur, seq_cur, hash_cur, id_cur)
    for index, problem in enumerate(problems):
        if problem.stream in bad_streams and problem.message.startswith("prev_hash"):
            problems[index] = _explain_link(conn, problem)
    return _Part(count, seen, problems)


def _explain_link(conn: Connection, problem: Problem) -> Problem:
    """A broken link, looked at with the whole stream: does the event follow another one of its stream?"""
    rows = conn.execute(
        select(EVENTS.c.seq, EVENTS.c.hash, EVENTS.c.prev_hash).where(EVENTS.c.stream == problem.stream)
    ).all()
    by_hash = {row.hash: row.seq for row in rows}
    prev = next((row.prev_hash for row in rows if row.seq == problem.seq), None)
    follows = by_hash.get(prev)
    if follows is not None and follows != (problem.seq or 0) - 1:
        return Problem(problem.stream, problem.seq, problem.event_id,
                       f"it follows the event at seq {follows}, not seq {(problem.seq or 0) - 1}: the rows were "
                       "reordered")
    return problem


def _reference_match(stream, seq, case_id, at, actor_id, actor_name, action, task_id, element_id, data, model_hash,
                     prev_hash, stored_hash) -> bool:
    """The hash recomputed the reference way (hashing.event_hash), before calling a row altered."""
    try:
        fields = {
            "stream": stream, "seq": seq, "case_id": case_id, "at": _iso_at(at), "actor_id": actor_id,
            "actor_name": actor_name, "action": action, "task_id": task_id, "element_id": element_id,
            "data": json.loads(data) if data is not None else None, "model_hash": model_hash,
            "prev_hash": prev_hash,
        }
    except ValueError:
        return False
    return event_hash(fields) == stored_hash


def _anchor_chain(report: Report, anchors: list[dict], external: list[dict] | None) -> AnchorChain:
    chain = check_chain(anchors)
    for message in chain.problems:
        report.problems.append(Problem("anchors", None, None, message))
    if external is not None:
        outside = check_chain(external)
        for message in outside.problems:
            report.problems.append(Problem("anchors (exported copy)", None, None, message))
        ours = {a["seq"]: a["hash"] for a in anchors}
        for anchor in external:
            if ours.get(anchor["seq"]) != anchor["hash"]:
                what = "is missing" if anchor["seq"] not in ours else "differs"
                report.problems.append(Problem(
                    "anchors", None, None,
                    f"anchor {anchor['seq']} {what} in the database compared with the exported copy",
                ))
                # the copy kept elsewhere is the authority on what was anchored
                chain = outside
                break
    report.anchor = chain.latest
    return chain
