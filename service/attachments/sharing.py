"""Evidence shared with an organization through a task's declared context.

A task's context file (forms/*.context.json, docs/modeling.md) may share an entry with organizations that do
not see that part of the case (`visible_to`: the consulted ministry sees the documents the FA chose for it).
When such a task is routed, the evidence files held by those entries are shared with the organizations the
entries name (`attachment_shares`), so that the people who see the entry can also download the file
(`permissions.may_download_attachment`). Each new share is an `attachment_shared` event in the case's stream.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import SYSTEM
from ..cases.pipeline import record_event
from ..forms.context import CONTEXT_PROPERTY, lookup
from ..models import Attachment, AttachmentShare, Case, WorkItem

WORKER = "worker"


def _file_ids(value: Any, found: set[str], depth: int = 0) -> None:
    """Public ids of stored files in a form value (an upload is stored as {"id", "name", "size", ...})."""
    if depth > 20:
        return
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and "name" in value and 8 <= len(ident) <= 32:
            found.add(ident)
        for inner in value.values():
            _file_ids(inner, found, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _file_ids(inner, found, depth + 1)


def _organizations(case: Case, item: WorkItem, data: dict, scopes: list[str]) -> set[int]:
    found = set()
    for scope in scopes:
        if scope in (WORKER, "task"):
            found.add(item.organization_id)
        elif scope == "fa":
            found.add(case.funding_agency_id)
        elif scope == "lead" and case.lead_institution_id is not None:
            found.add(case.lead_institution_id)
        else:
            try:
                found.add(int(data.get(f"{scope}_organization_id")))
            except (TypeError, ValueError):
                continue
    return found


def share_context_attachments(session: Session, case: Case, tasks: list, items: list[WorkItem]) -> list[int]:
    """Share the files that newly routed tasks' context entries show to other organizations; returns the new
    share ids."""
    from ..cases.context import context_entries

    by_task = {item.task_id: item for item in items}
    created = []
    for task in tasks:
        item = by_task.get(task.task_id)
        name = (task.properties or {}).get(CONTEXT_PROPERTY)
        if item is None or not name:
            continue
        for entry in context_entries(session, case.model_version_id, name):
            shared = entry.get("visible_to") or []
            shared = [shared] if isinstance(shared, str) else list(shared)
            if not shared:
                continue
            ids: set[str] = set()
            _file_ids(lookup(task.data, entry["path"]), ids)
            if not ids:
                continue
            files = session.scalars(select(Attachment).where(Attachment.public_id.in_(sorted(ids)),
                                                             Attachment.case_id == case.id)).all()
            for org in sorted(_organizations(case, item, task.data, shared)):
                for attachment in files:
                    if org == attachment.organization_id or session.scalar(select(AttachmentShare.id).where(
                            AttachmentShare.attachment_id == attachment.id,
                            AttachmentShare.organization_id == org)) is not None:
                        continue
                    share = AttachmentShare(attachment_id=attachment.id, organization_id=org, case_id=case.id,
                                            task_id=task.task_id, shared_at=clock.now())
                    session.add(share)
                    session.flush()
                    created.append(share.id)
                    record_event(session, case, SYSTEM, "attachment_shared", task_id=task.task_id,
                                 element_id=task.element_id,
                                 data={"attachment": attachment.public_id, "name": attachment.original_filename,
                                       "organization_id": org, "entry": entry["path"]})
    return created


def shared_with(session: Session, attachment_id: int) -> set[int]:
    return set(session.scalars(select(AttachmentShare.organization_id)
                               .where(AttachmentShare.attachment_id == attachment_id)))
