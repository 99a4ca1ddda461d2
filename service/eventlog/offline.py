"""Checks that need nothing but the standard library: an anchor chain, one stream's events, a model's hash.

Used by the database-side verification and by `python -m service.audit.dossier verify`, which must work on
a machine with no database and nothing of tejun but these files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from .hashing import GENESIS, anchor_hash, event_hash, heads_digest


@dataclass
class AnchorChain:
    """What a list of anchors says, once checked: problems, and the heads they recorded."""

    anchors: list[dict]
    problems: list[str] = field(default_factory=list)
    # the full set of heads at the latest anchor: stream -> (seq, hash)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    # every head any anchor recorded: (stream, seq) -> (hash, anchor seq)
    recorded: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    @property
    def latest(self) -> dict | None:
        return self.anchors[-1] if self.anchors else None


def check_chain(anchors: list[dict]) -> AnchorChain:
    """Check anchors link up and digest what they say; collect the heads they recorded."""
    result = AnchorChain(anchors)
    prev = GENESIS
    heads: dict[str, tuple[int, str]] = {}
    for expected_seq, anchor in enumerate(anchors, start=1):
        where = f"anchor {anchor.get('seq')}"
        if anchor.get("seq") != expected_seq:
            result.problems.append(f"{where}: expected anchor {expected_seq} (anchors missing or reordered)")
            break
        if anchor.get("prev_hash") != prev:
            result.problems.append(f"{where}: prev_hash does not match anchor {expected_seq - 1}'s hash")
            break
        if anchor_hash(anchor) != anchor.get("hash"):
            result.problems.append(f"{where}: hash does not match its content (the anchor was altered)")
            break
        for stream, seq, head in anchor["changed"]:
            before = heads.get(stream)
            if before is not None and before[0] > seq:
                result.problems.append(f"{where}: stream {stream} went back from seq {before[0]} to {seq}")
            heads[stream] = (seq, head)
            result.recorded[(stream, seq)] = (head, anchor["seq"])
        if heads_digest((s, q, h) for s, (q, h) in heads.items()) != anchor["heads_digest"]:
            result.problems.append(f"{where}: heads_digest does not match the heads recorded up to it")
            break
        if anchor["stream_count"] != len(heads) or anchor["event_count"] != sum(q for q, _h in heads.values()):
            result.problems.append(f"{where}: stream or event count does not match the heads recorded")
            break
        prev = anchor["hash"]
    result.heads = heads
    return result


def check_stream(events: list[dict], stream: str) -> str | None:
    """One stream's events, complete and in order from its first: the first problem, or None."""
    prev, last_id = GENESIS, None
    for expected, event in enumerate(events, start=1):
        where = f"{stream} seq {event.get('seq')} (event id {event.get('id')})"
        if event.get("stream") != stream:
            return f"{where}: belongs to stream {event.get('stream')}"
        if event.get("seq") != expected:
            return f"{where}: expected seq {expected}: events were removed, reordered or inserted"
        if last_id is not None and event.get("id") is not None and event["id"] <= last_id:
            return f"{where}: written before the event preceding it: that one was inserted later, or reordered"
        if event.get("prev_hash") != prev:
            return f"{where}: prev_hash is not the previous event's hash"
        if event_hash(event) != event.get("hash"):
            return f"{where}: the hash does not match the event's content: it was altered"
        prev, last_id = event["hash"], event.get("id")
    return None


def model_content_hash(files: Mapping[str, bytes]) -> str:
    """A model version's identity: the same formula as `service.designer.store.content_hash`."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return digest.hexdigest()
