"""The dashboards' read model (`case_milestones`, `case_measures`): kept from the `task_completed` events.

`follow_event` runs for each `task_completed` event as it is recorded (service/task_hooks.on_task_completed,
in the same transaction as the step), `rebuild` derives every row again from the stored events (the migration
that made the tables, the benchmark after its bulk load). Both read an event with `figures`, the one
definition of what the dashboards count (service/dashboards/queries.py's docstring):

* submitted: the first `institutional_approval` completed with the decision `approve`;
* decided: the first `approve_review_outcome` completed with `approved: true`;
* review rounds: each completed `review_submission`;
* requested measures: `requested_measures[]` of the FA's review and follow-up confirmation, each request;
* planned measures: `measures[]` of `mitigation_plan`, `additional_mitigation` and a partner's
  `partner_mitigation_plan`, each measure of each plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, column, delete, insert, select, table
from sqlalchemy.orm import Session

from ..models import CaseMeasure, CaseMilestones
from ..models.base import UTCDateTime

SUBMISSION = "institutional_approval"
REVIEW = "review_submission"
DECISION = "approve_review_outcome"
PLAN_SOURCES = {"plan_mitigation": ("mitigation_plan", "measures"),
                "plan_additional_mitigation": ("additional_mitigation", "measures"),
                "plan_partner_mitigation": ("partner_mitigation_plan", "measures")}  # a partner's own measures
REQUEST_SOURCES = {"review_submission": ("fa_review", "requested_measures"),
                   "fa_confirm_follow_up": ("follow_up_confirmation", "requested_measures")}
ELEMENTS = frozenset({SUBMISSION, REVIEW, DECISION, *PLAN_SOURCES, *REQUEST_SOURCES})


@dataclass
class Figures:
    """What one event adds to its case's figures."""

    submitted: bool = False
    decided: bool = False
    review_round: bool = False
    measures: list[dict] = field(default_factory=list)  # CaseMeasure columns without case_id and at

    def __bool__(self) -> bool:
        return self.submitted or self.decided or self.review_round or bool(self.measures)


def _at(data, path: tuple[str, ...]):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value) -> str | None:
    """A JSON value as text, like SQL's `->>`: strings as they are, other values as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _items(data, path: tuple[str, ...], kind: str, detail: bool) -> list[dict]:
    found = _at(data, path)
    if not isinstance(found, list):
        return []
    rows = []
    for item in found:
        item = item if isinstance(item, dict) else {}
        row = {"kind": kind, "code": _text(item.get("measure")), "target": None, "owner": None, "due_date": None}
        if detail:
            row.update(target=_text(item.get("target")), owner=_text(item.get("owner")),
                       due_date=_text(item.get("due_date")))
        rows.append(row)
    return rows


def figures(element_id: str | None, data) -> Figures:
    """What a `task_completed` event of `element_id` with `data` counts for the dashboards."""
    found = Figures()
    if element_id not in ELEMENTS:
        return found
    if element_id == SUBMISSION:
        found.submitted = _at(data, (SUBMISSION, "decision")) == "approve"
    if element_id == DECISION:
        found.decided = _at(data, ("fa_outcome_approval", "approved")) is True
    if element_id == REVIEW:
        found.review_round = True
    if element_id in REQUEST_SOURCES:
        found.measures += _items(data, REQUEST_SOURCES[element_id], "requested", detail=False)
    if element_id in PLAN_SOURCES:
        found.measures += _items(data, PLAN_SOURCES[element_id], "planned", detail=True)
    return found


def follow_event(session: Session, event: dict) -> None:
    """A `task_completed` event just recorded (the fields `chain.append` returned): its case's figures follow."""
    case_id = event.get("case_id")
    found = figures(event.get("element_id"), event.get("data"))
    if case_id is None or not found:
        return
    at: datetime = event["at"]
    if found.submitted or found.decided or found.review_round:
        milestones = session.get(CaseMilestones, case_id)
        if milestones is None:
            milestones = CaseMilestones(case_id=case_id, review_rounds=0)
            session.add(milestones)
        if found.submitted and (milestones.submitted_at is None or at < milestones.submitted_at):
            milestones.submitted_at = at
        if found.decided and (milestones.decided_at is None or at < milestones.decided_at):
            milestones.decided_at = at
        if found.review_round:
            milestones.review_rounds = (milestones.review_rounds or 0) + 1
    if found.measures:
        session.execute(insert(CaseMeasure), [{"case_id": case_id, "at": at, **m} for m in found.measures])


_EVENTS = table("events", column("id"), column("case_id"), column("action"), column("element_id"),
                column("data", JSON), column("at", UTCDateTime()))


def rebuild(session: Session, batch: int = 5000) -> dict[str, int]:
    """Every case's figures derived again from the stored events (the tables emptied first)."""
    session.execute(delete(CaseMeasure))
    session.execute(delete(CaseMilestones))
    query = (select(_EVENTS.c.case_id, _EVENTS.c.element_id, _EVENTS.c.data, _EVENTS.c.at)
             .where(_EVENTS.c.action == "task_completed", _EVENTS.c.case_id.is_not(None),
                    _EVENTS.c.element_id.in_(sorted(ELEMENTS)))
             .order_by(_EVENTS.c.case_id, _EVENTS.c.id))
    milestones: dict[int, dict] = {}
    measures: list[dict] = []
    # read everything first (streamed), then write: no statement runs while the events' cursor is open
    for case_id, element_id, data, at in session.execute(query.execution_options(yield_per=batch)):
        if isinstance(data, str):
            data = json.loads(data)
        found = figures(element_id, data)
        if found.submitted or found.decided or found.review_round:
            row = milestones.setdefault(case_id, {"case_id": case_id, "submitted_at": None, "decided_at": None,
                                                  "review_rounds": 0})
            if found.submitted and (row["submitted_at"] is None or at < row["submitted_at"]):
                row["submitted_at"] = at
            if found.decided and (row["decided_at"] is None or at < row["decided_at"]):
                row["decided_at"] = at
            row["review_rounds"] += int(found.review_round)
        measures += [{"case_id": case_id, "at": at, **m} for m in found.measures]
    rows = list(milestones.values())
    for model, chunked in ((CaseMilestones, rows), (CaseMeasure, measures)):
        for start in range(0, len(chunked), batch):
            session.execute(insert(model), chunked[start:start + batch])
    return {"case_milestones": len(rows), "case_measures": len(measures)}


__all__ = ["Figures", "figures", "follow_event", "rebuild"]
