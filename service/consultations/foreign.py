"""Foreign joint research: the measures the foreign institution requested, where they stand, and what was sent to it.

The model does the work (bpmn/institution_risk_management.bpmn): `apply_foreign_partner_request` numbers the
requests FR1, FR2 ... (`foreign_requested_measures`) and puts each into the mitigation plan as an item of its
catalog measure, so ③ runs for them (owner, due date, the PI's confirmation) and they become planned and, once
the FA accepts, agreed measures like any other (the dashboards' `case_measures` count them as planned);
`link_foreign_requests` marks each request `planned` or `not_planned` from the confirmed plan and pre-fills the
notification to the foreign side with that status. What was sent (`notify_foreign_partner`: when, to whom,
how, each request's status, the documents) is that task's completion in the case's event log, read here.

Seen by full views of the case only (the lead institution, the FA once the institution submitted, auditors):
it is the institution's working data, like the plan itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.actor import Actor
from ..auth.permissions import case_scope
from ..cases.queries import restore
from ..models import Case, Event

NOTIFY_ELEMENT = "notify_foreign_partner"
REPORT_ELEMENT = "report_to_foreign_partner"  # again at each follow-up round (bpmn/follow_up.bpmn)


@dataclass
class Request:
    request_id: str
    description: str
    measure: str
    plan_status: str  # requested (no plan yet) | planned | not_planned
    agreed: bool  # among the measures the FA accepted
    reported: str | None  # the status last sent to the foreign side (agreed | implemented | not_agreed)


@dataclass
class Sent:
    """One notification to the foreign side, as recorded when the office completed it."""

    at: datetime
    by: str
    notified_on: str | None
    sent_to: str | None
    method: str | None
    measure_status: list[dict]
    measures_communicated: list[str]
    documents: list[dict]
    notes: str | None


@dataclass
class ForeignRecord:
    partner: str | None
    requested_on: str | None
    requests: list[Request] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)


def record_for(svc, actor: Actor, case_id: int) -> ForeignRecord | None:
    """`record` of one case in a read session of its own (for entry points, which open none)."""
    with svc.db.reader() as session:
        return record(session, actor, session.get(Case, case_id), svc.settings.script_time_limit)


def record(session: Session, actor: Actor, case: Case, time_limit: float = 1.0) -> ForeignRecord | None:
    """The foreign partner's requests and what was sent to it, for a full view of a foreign joint research case."""
    if case.variant != "foreign_joint" or not case_scope(actor, case).full:
        return None
    flow = restore(session, case, time_limit)
    request = flow.lookup("foreign_partner_request") or {}
    requested = flow.lookup("foreign_requested_measures") or []
    agreed = {m.get("measure") for m in (flow.lookup("agreed_measures") or []) if isinstance(m, dict)}
    sent = []
    for event in session.scalars(select(Event).where(Event.case_id == case.id, Event.action == "task_completed",
                                                     Event.element_id.in_([NOTIFY_ELEMENT, REPORT_ELEMENT]))
                         .order_by(Event.seq)):
        note = (event.data or {}).get("foreign_partner_notification") or {}  # the submitted form
        sent.append(Sent(event.at, event.actor_name or "", note.get("notified_on"), note.get("sent_to"),
                         note.get("method"), list(note.get("measure_status") or []),
                         list(note.get("measures_communicated") or []), list(note.get("documents") or []),
                         note.get("notes")))
    last = {row.get("request_id"): row.get("status") for s in sent for row in s.measure_status}
    found = ForeignRecord(request.get("foreign_partner_name"), request.get("requested_on"))
    for row in requested:
        found.requests.append(Request(row.get("request_id") or "", row.get("description") or "",
                                      row.get("measure") or "", row.get("plan_status") or "requested",
                                      row.get("measure") in agreed, last.get(row.get("request_id"))))
    found.sent = sent
    return found
