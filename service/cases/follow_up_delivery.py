"""Delivery of the follow-ups kept in `service/followups` (screening hits, disclosure changes, changes people
recorded while the case could not take them): a use case beside the commands, each delivery its own transaction
through `commands.send_message`. What is delivered, kept or dropped, and why at most once: see
`service/followups`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from .. import clock
from ..auth.actor import SYSTEM
from ..errors import Conflict
from ..followups import already_delivered
from ..models import Case, PendingFollowUp
from ..services import Services
from ..unit_of_work import unit_of_work
from .commands import send_message

log = logging.getLogger("tejun.followups")


@dataclass
class Delivery:
    delivered: list[int] = field(default_factory=list)  # case ids where a follow-up started
    pending: list[int] = field(default_factory=list)  # case ids still waiting to take theirs
    dropped: list[int] = field(default_factory=list)


def deliver_pending(svc: Services, case_ids: list[int] | None = None, limit: int = 200) -> Delivery:
    """Try to hand every pending follow-up to its case (oldest first, one per case per call)."""
    result = Delivery()
    with svc.db.reader() as session:
        query = select(PendingFollowUp.id, PendingFollowUp.case_id).where(PendingFollowUp.status == "pending")
        if case_ids is not None:
            query = query.where(PendingFollowUp.case_id.in_(list(case_ids) or [0]))
        rows = session.execute(query.order_by(PendingFollowUp.id).limit(limit)).all()
    tried: set[int] = set()
    for row_id, case_id in rows:
        if case_id in tried:
            result.pending.append(case_id)
            continue
        tried.add(case_id)
        try:
            with unit_of_work(svc) as session:
                row = session.get(PendingFollowUp, row_id)
                if row is None or row.status != "pending":
                    continue
                case = session.get(Case, row.case_id)
                if case is None or case.status == "completed":
                    row.status = "dropped"
                    result.dropped.append(case_id)
                    continue
                if already_delivered(session, row):
                    row.status, row.delivered_at = "delivered", clock.now()
                    result.delivered.append(case_id)
                    continue
                row.attempts += 1
                message, payload = row.message, row.payload
        except Conflict:
            result.pending.append(case_id)
            continue
        try:
            send_message(svc, SYSTEM, case_id, message, payload)
        except Conflict:
            # not waiting for it now (or busy): it stays pending
            result.pending.append(case_id)
            continue
        except Exception:
            log.exception("delivering follow-up %s to case %s failed; it stays pending", row_id, case_id)
            result.pending.append(case_id)
            continue
        with unit_of_work(svc) as session:
            row = session.get(PendingFollowUp, row_id)
            row.status, row.delivered_at = "delivered", clock.now()
        result.delivered.append(case_id)
    return result


