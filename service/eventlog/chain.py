"""Appending to the hash-chained event log.

Each event's hash covers its predecessor's hash and a canonical JSON encoding of its own fields, so
altering, removing, reordering or inserting a row breaks the chain from that point on. Sequence numbers
are gap-free per stream: the stream head is advanced with a compare-and-set, so two writers can never
both take the same number (the loser gets a Conflict and its whole transaction rolls back).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..errors import Conflict
from ..models import Event, EventStream
from .hashing import GENESIS, HASHED_FIELDS, canonical, event_hash  # noqa: F401  (this module's API)


def case_stream(case_id: int) -> str:
    return f"case:{case_id}"


SYSTEM_STREAM = "system"


def user_stream(user_id: int) -> str:
    return f"user:{user_id}"


# Core statements on the tables, built once: every completed task appends events, and the ORM-enabled forms
# of these statements (entity-based insert/update, which also synchronize the session) cost several times
# as much CPU for rows the session never holds as objects.
_streams, _events = EventStream.__table__, Event.__table__
_HEAD = select(_streams.c.seq, _streams.c.head_hash).where(_streams.c.stream == bindparam("stream"))
_ADVANCE = (
    update(_streams)
    .where(_streams.c.stream == bindparam("at_stream"), _streams.c.seq == bindparam("at_seq"))
    .values(seq=bindparam("new_seq"), head_hash=bindparam("new_hash"), updated_at=bindparam("new_at"))
)
_OPEN = insert(_streams)
_INSERT = insert(_events)
_FIELDS = [c for c in _events.c if c.name != "id"]
# PostgreSQL: the head's compare-and-set and the event's insert in one round trip (a data-modifying CTE):
# the event is inserted only when the head moved, so the row it returns is the compare-and-set's success
_ADVANCE_AND_INSERT = insert(_events).from_select(
    [c.name for c in _FIELDS],
    select(*(bindparam(f"e_{c.name}", type_=c.type) for c in _FIELDS)).select_from(
        _ADVANCE.returning(_streams.c.seq).cte("moved")),
).returning(_events.c.seq)


def _heads(session: Session) -> dict:
    return session.info.setdefault("tejun_stream_heads", {})


def append(
    session: Session,
    *,
    stream: str,
    action: str,
    actor_id: int | None,
    actor_name: str,
    case_id: int | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    data: dict | None = None,
    model_hash: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Append one event in the caller's transaction and return its fields (including seq and hash)."""
    heads = _heads(session)
    if stream in heads:
        seq, prev_hash, exists = heads[stream]
    else:
        row = session.execute(_HEAD, {"stream": stream}).first()
        seq, prev_hash, exists = (row[0], row[1], True) if row else (0, GENESIS, False)
    fields = {
        "stream": stream,
        "seq": seq + 1,
        "case_id": case_id,
        # stored and hashed in UTC, so the hash recomputed from the database row is the same
        "at": (at or clock.now()).astimezone(UTC),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "task_id": task_id,
        "element_id": element_id,
        "data": _plain(data or {}),
        "model_hash": model_hash,
        "prev_hash": prev_hash,
    }
    fields["hash"] = event_hash(fields)
    now = fields["at"]
    advance = {"at_stream": stream, "at_seq": seq, "new_seq": seq + 1, "new_hash": fields["hash"], "new_at": now}
    if exists and session.get_bind().dialect.name == "postgresql":
        row = session.execute(_ADVANCE_AND_INSERT, {**advance, **{f"e_{k}": v for k, v in fields.items()}}).first()
        moved = 1 if row else 0
    elif exists:
        moved = session.execute(_ADVANCE, advance).rowcount
        if moved == 1:
            session.execute(_INSERT, fields)
    else:
        session.execute(_OPEN, {"stream": stream, "seq": 1, "head_hash": fields["hash"], "updated_at": now})
        session.execute(_INSERT, fields)
        moved = 1
    if moved != 1:
        raise Conflict("the case changed while this action was being recorded; reload and try again")
    heads[stream] = (seq + 1, fields["hash"], True)
    return fields


def _plain(value):
    """JSON-safe copy, so what is hashed is exactly what the database returns later."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
