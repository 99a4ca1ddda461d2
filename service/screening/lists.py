"""The restricted-party lists in force for a case, their snapshots, and each process's cache of their search
indexes (built once at import and stored: service/screening/index_store.py; loaded on first use, the newest
`INDEX_CACHE_SIZE` kept)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import SYSTEM, Actor
from ..clock import JST
from ..models import ScreeningSnapshot
from . import index_store
from .matching import EntryIndex

log = logging.getLogger("tejun.screening")


def today() -> date:
    return clock.now().astimezone(JST).date()


def current_snapshots(session: Session, lead_institution_id: int | None) -> list[ScreeningSnapshot]:
    """The newest snapshot of every published list, and of the lead institution's own lists."""
    owners = ScreeningSnapshot.organization_id.is_(None)
    if lead_institution_id is not None:
        owners = owners | (ScreeningSnapshot.organization_id == lead_institution_id)
    newest: dict[tuple[str, int | None], ScreeningSnapshot] = {}
    for snapshot in session.scalars(select(ScreeningSnapshot).where(owners).order_by(ScreeningSnapshot.id)):
        newest[(snapshot.source, snapshot.organization_id)] = snapshot
    return sorted(newest.values(), key=lambda s: (s.source, s.id))


_indexes: OrderedDict[int, EntryIndex] = OrderedDict()
_indexes_lock = threading.Lock()
INDEX_CACHE_SIZE = 16


def index_of(session: Session, snapshot_id: int) -> EntryIndex:
    """The search index of one snapshot: built once at import and stored (index_store.py), loaded by each
    process on first use and kept (snapshots never change); built here only for a snapshot stored without."""
    with _indexes_lock:
        if snapshot_id in _indexes:
            _indexes.move_to_end(snapshot_id)
            return _indexes[snapshot_id]
    index = index_store.load(session, snapshot_id)
    if index is None:
        log.warning("snapshot %s has no stored screening index: building it in this process "
                    "(flask --app wsgi screening build-indexes stores it)", snapshot_id)
        index = index_store.build(session, snapshot_id)
    with _indexes_lock:
        _indexes[snapshot_id] = index
        while len(_indexes) > INDEX_CACHE_SIZE:
            _indexes.popitem(last=False)
    return index


def snapshots_overview(session: Session, actor: Actor = SYSTEM) -> list[ScreeningSnapshot]:
    """Imported snapshots, newest first: the published lists, and an institution's own lists only for the people
    of that institution (and auditors of every case, and the system)."""
    query = select(ScreeningSnapshot).order_by(ScreeningSnapshot.id.desc())
    if not actor.is_system and not any(g.role == "auditor" and g.scope == "all" for g in actor.grants):
        # by role in that institution (its office), not by any membership there
        query = query.where(ScreeningSnapshot.organization_id.is_(None) | ScreeningSnapshot.organization_id.in_(
            actor.orgs_with("security_officer", "institution_admin")))
    return list(session.scalars(query))


def snapshots_for(svc, actor: Actor = SYSTEM) -> list[ScreeningSnapshot]:
    """`snapshots_overview` in a read session of its own (for entry points, which open none)."""
    with svc.db.reader() as session:
        return snapshots_overview(session, actor)


# people who keep their institution's own lists
LIST_OFFICES = ("security_officer", "institution_admin")


def importable(session: Session, actor: Actor) -> list[tuple[str, object | None]]:
    """(source code, owning institution) pairs the actor may import: their institutions' own lists, and the
    published lists for system administrators."""
    from ..models import Organization
    from .sources import SOURCES

    choices: list[tuple[str, Organization | None]] = []
    if actor.has("system_admin"):
        choices += [(code, None) for code, source in SOURCES.items() if not source.per_institution]
    orgs = actor.orgs_with(*LIST_OFFICES)
    if orgs:
        for org in session.scalars(select(Organization).where(Organization.id.in_(orgs),
                                                              Organization.kind == "institution")
                                   .order_by(Organization.name)):
            choices += [(code, org) for code, source in SOURCES.items() if source.per_institution]
    return choices
