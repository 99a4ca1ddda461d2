"""The hash chain's arithmetic, with nothing but the standard library (the offline dossier check uses it).

An event's hash is `sha256(prev_hash + canonical(fields))`, hex. `canonical` is the event's hashed fields
as JSON: keys sorted, no whitespace, non-ASCII kept as UTF-8, the time in UTC ISO 8601 with microseconds.
Anyone can recompute it from an exported event with any JSON library that sorts keys: take the twelve
fields of `HASHED_FIELDS`, dump them compactly with sorted keys and without ASCII escaping, prefix the
previous event's hash (`GENESIS` for the first), and SHA-256 the UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

GENESIS = "0" * 64
HASHED_FIELDS = (
    "stream", "seq", "case_id", "at", "actor_id", "actor_name", "action", "task_id", "element_id", "data",
    "model_hash", "prev_hash",
)

# one encoder for every hash: json.dumps would build a new encoder per call with these options
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def iso(at: datetime | str) -> str:
    """An event time as hashed: UTC, ISO 8601, microseconds."""
    if isinstance(at, str):
        return at
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: dict) -> bytes:
    """The bytes an event's hash covers: sorted keys, no whitespace, UTC times with microseconds."""
    body = {name: fields.get(name) for name in HASHED_FIELDS}
    body["at"] = iso(body["at"]) if body["at"] is not None else None
    return _encode(body).encode()


def event_hash(fields: dict) -> str:
    return hashlib.sha256(fields["prev_hash"].encode() + canonical(fields)).hexdigest()


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """One digest over every stream head: sha256 of `stream TAB seq TAB hash LF` lines, sorted by stream."""
    digest = hashlib.sha256()
    for stream, seq, head in sorted(heads):
        digest.update(f"{stream}\t{seq}\t{head}\n".encode())
    return digest.hexdigest()


ANCHOR_FIELDS = ("seq", "created_at", "created_by", "stream_count", "event_count", "heads_digest", "changed",
                 "prev_hash")


def anchor_hash(fields: dict) -> str:
    """An anchor's hash: chained like events, over its own fields (`changed` = heads moved since the last)."""
    body = {name: fields.get(name) for name in ANCHOR_FIELDS}
    body["created_at"] = iso(body["created_at"])
    return hashlib.sha256(fields["prev_hash"].encode() + _encode(body).encode()).hexdigest()


def dumps(value) -> str:
    """Canonical JSON text (sorted keys, compact, UTF-8), as used for hashes and exported files."""
    return _encode(value)
