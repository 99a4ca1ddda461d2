"""Event-triggered follow-ups from outside a case: a new restricted-list hit, a changed disclosure profile.

`request_follow_up` records the message for the case in the caller's transaction (so it exists exactly when
the change that caused it was committed). `deliver_pending` then sends it with `commands.send_message` as
the system actor, each in its own transaction:

* the case waits for the message (it is between follow-ups): it is delivered and a follow-up round starts;
* the case does not wait for it now (still in the application phase, or inside a follow-up round): it stays
  pending and is tried again by every round of the timer worker (`flask --app wsgi worker`) and after every
  list import or profile change, so it starts the next follow-up as soon as the case waits again;
* the case has ended (completed, withdrawn, not accepted): it is dropped.

Changes people record (issue 18, point 4) take the same way: a new member or partner (`member_added`,
`partner_added`, by the lead's security office) or the FA's own request for a follow-up (`follow_up_requested`,
by the FA officer), sent while the case cannot take them (still in the application phase, or a follow-up round
open), are held here by `hold_change` (event `change_held` on the case, with who recorded it and the payload)
and delivered by the same worker rounds once the case waits between follow-ups; a case that ends first drops
them.

Delivery is at most once per request: the payload carries the request's id (`trigger.trigger_id`), and a
request whose id already appears in a `message_delivered` event of its case is marked delivered, not sent
again (this covers a crash between sending and marking).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..errors import Conflict
from ..models import Case, Event, PendingFollowUp
from ..services import Services
from ..unit_of_work import unit_of_work

log = logging.getLogger("tejun.followups")
# recorded by people at any time, held until the case can take them (`hold_change`)
HELD_BY_PEOPLE = ("member_added", "partner_added", "follow_up_requested")
MESSAGES = ("screening_hit", "disclosure_changed", *HELD_BY_PEOPLE)


@dataclass
class Delivery:
    delivered: list[int] = field(default_factory=list)  # case ids where a follow-up started
    pending: list[int] = field(default_factory=list)  # case ids still waiting to take theirs
    dropped: list[int] = field(default_factory=list)


def request_follow_up(session: Session, case: Case, message: str, trigger: dict, reason: str = "") -> PendingFollowUp:
    """Keep `message` for `case`; the trigger dict is completed with its request id."""
    if message not in MESSAGES:
        raise ValueError(f"unknown follow-up message {message!r}")
    row = PendingFollowUp(case_id=case.id, message=message, payload={}, reason=reason[:2000],
                          created_at=clock.now(), status="pending")
    session.add(row)
    session.flush()
    row.payload = {"trigger": {**trigger, "trigger_id": row.id}}
    return row


def hold_change(session: Session, case: Case, actor: Actor, message: str, payload: dict) -> PendingFollowUp:
    """Keep a change a person recorded (checked payload of `message`) until the case can take it; recorded on
    the case as `change_held` in the caller's transaction."""
    from ..cases.pipeline import record_event

    trigger = dict(payload.get("trigger") or {})
    trigger.pop("trigger_id", None)  # the request's own id is given here
    row = request_follow_up(session, case, message, trigger, reason=str(trigger.get("reason") or ""))
    record_event(session, case, actor, "change_held", data={"message": message, "payload": row.payload,
                                                            "pending_id": row.id})
    return row


def _already_delivered(session: Session, row: PendingFollowUp) -> bool:
    events = session.scalars(
        select(Event.data).where(Event.case_id == row.case_id, Event.action == "message_delivered",
                                 Event.at >= row.created_at)
    )
    for data in events:
        trigger = ((data or {}).get("payload") or {}).get("trigger") or {}
        if (data or {}).get("message") == row.message and trigger.get("trigger_id") == row.id:
            return True
    return False


def deliver_pending(svc: Services, case_ids: list[int] | None = None, limit: int = 200) -> Delivery:
    """Try to hand every pending follow-up to its case (oldest first, one per case per call)."""
    from ..auth.actor import SYSTEM
    from ..cases.commands import send_message

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
                if _already_delivered(session, row):
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


