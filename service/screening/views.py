"""Reads of the screening pages besides a case's own, each opening its own session and returning rows whose
attributes are loaded (the page renders after the session closed)."""

from __future__ import annotations

from ..auth.actor import Actor
from ..models import Organization, ScreeningSnapshot
from . import lists, review


def open_hits(svc, actor: Actor) -> tuple[list[dict], dict[int, Organization], bool]:
    """The cases with hits waiting for a decision that the actor sees in full (`review.open_hits`), their lead
    institutions, and whether the actor may import any list."""
    with svc.db.reader() as session:
        rows, orgs = review.open_hits(session, actor)
        return rows, orgs, bool(lists.importable(session, actor))


def importable(svc, actor: Actor) -> list[tuple[str, Organization | None]]:
    """The (source code, owning institution) pairs the actor may import (`lists.importable`)."""
    with svc.db.reader() as session:
        return lists.importable(session, actor)


def snapshots_overview(svc, actor: Actor) -> tuple[list[ScreeningSnapshot], dict[int, Organization]]:
    """The imported snapshots the actor may see (`lists.snapshots_overview`) and the institutions owning them."""
    with svc.db.reader() as session:
        snapshots = lists.snapshots_overview(session, actor)
        return snapshots, review.organizations(session, {s.organization_id for s in snapshots if s.organization_id})


def case_screening(svc, actor: Actor, case_id: int) -> dict:
    """A case's subjects, their hits and the lists in force, as the actor sees them (`review.case_screening`:
    NotFound below the full view)."""
    with svc.db.reader() as session:
        return review.case_screening(session, actor, case_id)
