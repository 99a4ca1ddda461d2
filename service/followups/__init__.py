"""Event-triggered follow-ups from outside a case: a new restricted-list hit, a changed disclosure profile.

Storage only. `request_follow_up` records the message for the case in the caller's transaction (so it exists
exactly when the change that caused it was committed). `service/cases/follow_up_delivery.deliver_pending` (a use
case, beside the commands) then sends it with `commands.send_message` as the system actor, each in its own
transaction:

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

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..models import Case, Event, PendingFollowUp

# recorded by people at any time, held until the case can take them (`hold_change`)
HELD_BY_PEOPLE = ("member_added", "partner_added", "follow_up_requested")
MESSAGES = ("screening_hit", "disclosure_changed", *HELD_BY_PEOPLE)


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


def already_delivered(session: Session, row: PendingFollowUp) -> bool:
    """Whether a `message_delivered` event of the row's case already carries its request id."""
    events = session.scalars(
        select(Event.data).where(Event.case_id == row.case_id, Event.action == "message_delivered",
                                 Event.at >= row.created_at)
    )
    for data in events:
        trigger = ((data or {}).get("payload") or {}).get("trigger") or {}
        if (data or {}).get("message") == row.message and trigger.get("trigger_id") == row.id:
            return True
    return False
