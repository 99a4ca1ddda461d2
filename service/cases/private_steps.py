"""Steps an organization keeps to itself inside a case, and what it chose to share.

A partner institution does its own risk management (bpmn/partner_due_diligence.bpmn): its people's
disclosures and its screening of them stay with it; the lead institution and the FA get its conclusions
(level, measures) through the case's data. The model says which steps are kept: a user task with the property

    privateToOrganization = true

is such a step. What was submitted there is seen by the organization the task was routed to
(`CaseScope.sees_private`: its own staff, auditors), not by the other organizations' FULL views of the case, unless
the organization shares it. A user task with the property

    sharePrivateStepsWhen = <dotted path in its submitted data>

shares the private steps of the organization it was routed to with the lead institution when that value is
true (the latest such step of that organization decides). Everything is read from the case's events, so a
replay or a point-in-time view says the same.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import model_cache
from ..auth.permissions import CaseScope
from ..designer.store import specs_for
from ..forms.context import lookup
from ..models import Case, Event

PRIVATE = "privateToOrganization"
SHARE_WHEN = "sharePrivateStepsWhen"

_props = model_cache.bounded("private_step_properties", 64)  # (version, process) -> element properties


def element_properties(session: Session, version_id: int, process_id: str) -> dict[str, dict]:
    """The `spiffworkflow:property` values of every element the entry process runs (versions are immutable)."""
    def load() -> dict[str, dict]:
        spec, subprocess_specs = specs_for(session, version_id, process_id)
        found: dict[str, dict] = {}
        for process in [spec, *subprocess_specs.values()]:
            for task_spec in process.task_specs.values():
                bpmn_id = getattr(task_spec, "bpmn_id", None)
                props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
                if bpmn_id and props:
                    found.setdefault(bpmn_id, dict(props))
        return found

    return _props.get((version_id, process_id), load)


def _on(value) -> bool:
    return str(value or "").strip().lower() in ("true", "yes", "1")


def is_private(session: Session, case: Case, element_id: str | None) -> bool:
    props = element_properties(session, case.model_version_id, case.process_id)
    return _on((props.get(element_id or "") or {}).get(PRIVATE))


def shared_with(session: Session, case: Case, routes: dict[str, int]) -> dict[int, frozenset[int]]:
    """Per organization keeping private steps: the organizations it shared them with (the lead institution)."""
    props = element_properties(session, case.model_version_id, case.process_id)
    paths = {eid: p[SHARE_WHEN] for eid, p in props.items() if p.get(SHARE_WHEN)}
    if not paths:
        return {}
    decided: dict[int, bool] = {}
    rows = session.execute(select(Event.task_id, Event.element_id, Event.data)
                           .where(Event.case_id == case.id, Event.action == "task_completed",
                                  Event.element_id.in_(sorted(paths)))
                           .order_by(Event.seq)).all()
    for task_id, element_id, data in rows:
        data = json.loads(data) if isinstance(data, str) else data
        org = routes.get(task_id or "")
        if org is not None and isinstance(data, dict):
            decided[org] = bool(lookup(data, paths[element_id]))
    lead = case.lead_institution_id
    return {org: frozenset({lead}) for org, shared in decided.items() if shared and lead is not None}


def withheld(session: Session, scope: CaseScope, case: Case, routes: dict[str, int]) -> set[str]:
    """Task ids of completed private steps whose submitted data this viewer may not see."""
    if scope.unrestricted:
        return set()
    props = element_properties(session, case.model_version_id, case.process_id)
    private = sorted(eid for eid, p in props.items() if _on(p.get(PRIVATE)))
    if not private:
        return set()
    shares = shared_with(session, case, routes)
    task_ids = session.scalars(select(Event.task_id).where(Event.case_id == case.id,
                                                           Event.action == "task_completed",
                                                           Event.element_id.in_(private))).all()
    hidden = set()
    for task_id in task_ids:
        org = routes.get(task_id or "")
        if not scope.sees_private(org, shares.get(org, frozenset())):
            hidden.add(task_id)
    return hidden
