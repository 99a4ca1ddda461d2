"""Anchors: the heads of every event stream at a moment, digested and chained (table `audit_anchors`).

The hash chain of a stream shows that no event *inside* it was altered, removed, reordered or inserted,
but not that its newest events are all still there: cutting a stream short (and its head row with it)
leaves a valid, shorter chain. An anchor records every stream's head (stream, seq, hash) at one moment;
`audit verify` then requires every stream to still reach, and agree with, what the latest anchor recorded.
Anchors are chained to each other like events, and exported (`audit anchor --export FILE`) to be kept
outside tejun: a copy elsewhere also catches someone rewriting the database, anchors included.

Each anchor stores only the heads that moved since the previous one (`changed`; all heads in the first), so
daily anchors stay small; its `heads_digest` covers the full set, the union of all anchors up to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import clock
from ..errors import Conflict
from ..models import AuditAnchor, Event, EventStream
from ..services import Services
from ..unit_of_work import unit_of_work
from .hashing import ANCHOR_FIELDS, GENESIS, anchor_hash, heads_digest, iso
from .offline import check_chain

DAILY = timedelta(days=1)


class AnchorRefused(Exception):
    """The log went backwards since the last anchor: anchoring now would hide it. Run `audit verify`."""


def anchor_dict(row: AuditAnchor) -> dict:
    return {
        "seq": row.seq, "created_at": iso(row.created_at), "created_by": row.created_by,
        "stream_count": row.stream_count, "event_count": row.event_count, "heads_digest": row.heads_digest,
        "changed": [list(item) for item in row.changed], "prev_hash": row.prev_hash, "hash": row.hash,
    }


def load_anchors(session: Session) -> list[dict]:
    return [anchor_dict(row) for row in session.scalars(select(AuditAnchor).order_by(AuditAnchor.seq))]


def anchors_of(svc: Services) -> list[dict]:
    """`load_anchors` in a read session of its own (for entry points, which open none)."""
    with svc.db.reader() as session:
        return load_anchors(session)


def latest_anchor(session: Session) -> dict | None:
    row = session.scalars(select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(1)).first()
    return anchor_dict(row) if row is not None else None


def _current_heads(session: Session) -> dict[str, tuple[int, str]]:
    rows = session.execute(select(EventStream.stream, EventStream.seq, EventStream.head_hash))
    return {stream: (seq, head) for stream, seq, head in rows}


def _still_there(session: Session, heads: dict[tuple[str, int], str]) -> Iterator[str]:
    """Anchored heads that no longer hold in the events table."""
    keys = list(heads)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found = dict(
            ((stream, seq), head)
            for stream, seq, head in session.execute(
                select(Event.stream, Event.seq, Event.hash).where(tuple_(Event.stream, Event.seq).in_(chunk))
            )
        )
        for key in chunk:
            if found.get(key) != heads[key]:
                yield f"{key[0]} seq {key[1]}"


def create_anchor(svc: Services, created_by: str = "system") -> dict:
    """Record the heads of every stream now, chained to the previous anchor. Returns the new anchor.

    Refuses (AnchorRefused) when a stream vanished, went backwards, or no longer holds the head the previous
    anchor recorded: those are for `audit verify` to report, not for a new anchor to cover up.
    """
    with unit_of_work(svc) as session:
        previous = check_chain(load_anchors(session))
        if previous.problems:
            raise AnchorRefused("the existing anchors do not check out: " + previous.problems[0])
        current = _current_heads(session)
        gone = sorted(set(previous.heads) - set(current))
        back = sorted(s for s, (q, _h) in previous.heads.items() if s in current and current[s][0] < q)
        rewritten = list(_still_there(session, {(s, q): h for s, (q, h) in previous.heads.items()
                                                if s in current and current[s] != (q, h)}))
        if gone or back or rewritten:
            what = [f"stream {s} vanished" for s in gone] + [f"stream {s} went backwards" for s in back]
            what += [f"{key} differs from the last anchor" for key in rewritten]
            raise AnchorRefused("; ".join(what[:10]))
        changed = sorted([s, q, h] for s, (q, h) in current.items() if previous.heads.get(s) != (q, h))
        latest = previous.latest
        fields = {
            "seq": (latest["seq"] if latest else 0) + 1,
            "created_at": clock.now(),
            "created_by": created_by[:150],
            "stream_count": len(current),
            "event_count": sum(q for q, _h in current.values()),
            "heads_digest": heads_digest((s, q, h) for s, (q, h) in current.items()),
            "changed": changed,
            "prev_hash": latest["hash"] if latest else GENESIS,
        }
        fields["hash"] = anchor_hash(fields)
        row = AuditAnchor(**fields)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("another anchor was made at the same moment") from None
        return anchor_dict(row)


def ensure_daily_anchor(svc: Services, every: timedelta = DAILY) -> dict | None:
    """Make an anchor when the latest is older than `every` (the timer worker calls this each round)."""
    with svc.db.reader() as session:
        newest = session.scalar(select(func.max(AuditAnchor.created_at)))
    if newest is not None and clock.now() - newest < every:
        return None
    try:
        return create_anchor(svc, "system")
    except Conflict:
        return None  # another worker made it


def export_lines(anchors: Iterable[dict]) -> Iterator[str]:
    """JSON lines, one anchor each, with exactly the fields that are hashed plus the hash."""
    for anchor in anchors:
        yield json.dumps({name: anchor[name] for name in (*ANCHOR_FIELDS, "hash")}, ensure_ascii=False,
                         separators=(",", ":"))


def read_export(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


