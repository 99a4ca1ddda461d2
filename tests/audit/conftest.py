"""Fixtures of the audit tests."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select

from .helpers import EVENTS, HEADS, tampering


@pytest.fixture
def restore_streams(svc):
    """`keep(stream, ...)` snapshots streams; after the test they are put back exactly (rows, ids, heads)."""
    saved: dict[str, tuple[list[dict], list[dict]]] = {}

    def keep(*streams: str) -> None:
        with svc.db.engine.connect() as conn:
            for stream in streams:
                rows = [dict(r._mapping) for r in conn.execute(select(EVENTS).where(EVENTS.c.stream == stream))]
                head = [dict(r._mapping) for r in conn.execute(select(HEADS).where(HEADS.c.stream == stream))]
                saved[stream] = (rows, head)

    yield keep
    for stream, (rows, head) in saved.items():
        with tampering(svc) as conn:
            conn.execute(delete(EVENTS).where(EVENTS.c.stream == stream))
            conn.execute(delete(HEADS).where(HEADS.c.stream == stream))
            if rows:
                conn.execute(insert(EVENTS), rows)
            if head:
                conn.execute(insert(HEADS), head)
