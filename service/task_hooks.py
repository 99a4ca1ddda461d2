"""What tejun does around particular forms, called by the use cases (one line each in routing and commands).

* a screening-results task becomes ready: its subjects are screened and its form pre-filled
  (service/screening/procedure.py);
* a disclosure form is shown: it starts from the researcher's disclosure profile when the viewer may have it
  there (service/disclosures.starting_disclosure; computed for the viewer, never stored in the case);
* a screening-results form is submitted: refused while automated hits wait for review;
* a disclosure form is submitted: the certification is recorded for the case, and the researcher's profile
  follows what they declared (changes start follow-ups on their other active cases);
* a task was completed (its event recorded): the dashboards' figures of the case follow
  (service/dashboards/read_model.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .auth.actor import Actor
from .models import Case, WorkItem


def on_tasks_ready(session: Session, case: Case, tasks: list, items: list | None = None) -> None:
    """`tasks`: the HumanTasks that have just become ready (their data may still be changed); `items`: their
    new work items (where each was routed)."""
    if not tasks:
        return
    from .attachments.sharing import share_context_attachments
    from .screening.procedure import screen_ready_tasks

    screen_ready_tasks(session, case, tasks)
    share_context_attachments(session, case, tasks, items or [])


def starting_data(session: Session, actor: Actor, case: Case, item: WorkItem, task_data: dict) -> dict:
    """What a form shows before anyone typed into it, beyond what the case holds: for this viewer only."""
    from .disclosures import roster_identity, starting_disclosure

    if item.form and not task_data.get("disclosure"):
        member = task_data.get("member") or {}
        disclosure = starting_disclosure(session, actor, case, item, member) or {}
        # what the roster already says (name, e-Rad number) and the institution the task is routed to
        identity = {**roster_identity(session, item, member), **(disclosure.get("identity") or {})}
        if identity and roster_identity(session, item, member):
            disclosure = {**disclosure, "identity": identity}
        if disclosure:
            return {"disclosure": disclosure}
    return {}


def before_task_completed(session: Session, case: Case, item: WorkItem, flow, actor: Actor, data: dict) -> None:
    """After the form data validated, before anything is written: may refuse with ValidationFailed."""
    from .disclosures import record_disclosure_certification
    from .screening.procedure import check_screening_submission

    check_screening_submission(session, case, item, data)
    record_disclosure_certification(session, case, item, flow, actor, data)


def on_task_completed(session: Session, case: Case, event: dict) -> None:
    """A `task_completed` event was just recorded (its fields): the dashboards' figures of the case follow it in
    the same transaction (service/dashboards/read_model.py; not workflow state, a replay never touches them)."""
    from .dashboards.read_model import follow_event

    follow_event(session, event)
