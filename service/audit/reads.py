"""What auditors' reads leave on the record, and the model versions a case ran on (for the auditor pages)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.actor import Actor
from ..errors import Conflict
from ..eventlog import chain
from ..models import Case, Event, ModelVersion
from ..services import Services
from ..unit_of_work import unit_of_work


def record_read(svc: Services, actor: Actor, case_id: int | None, data: dict, attempts: int = 3) -> bool:
    """An `audit_read` event on the auditor's own stream (about the case, when it exists); the same auditor's
    parallel request may take the sequence number first, so it tries again. False when it could not."""
    for _attempt in range(attempts):
        try:
            with unit_of_work(svc) as session:
                about = case_id if case_id is not None and session.get(Case, case_id) is not None else None
                chain.append(session, stream=chain.user_stream(actor.user_id), action="audit_read",
                             actor_id=actor.user_id, actor_name=actor.username, case_id=about, data=data)
            return True
        except Conflict:
            continue
    return False


def versions_of(session: Session, case: Case) -> set[int]:
    """Model versions the case ran on (the one it started on, and those it moved to)."""
    hashes = select(Event.model_hash).where(Event.stream == chain.case_stream(case.id)).distinct()
    versions = session.scalars(select(ModelVersion.id).where(ModelVersion.content_hash.in_(hashes)))
    return {case.model_version_id, *versions}
