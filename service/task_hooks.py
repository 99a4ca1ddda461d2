"""What tejun does around particular forms, called by the use cases (one line each in routing and commands).

* a screening-results task becomes ready: its subjects are screened and its form pre-filled
  (service/screening/procedure.py);
* a disclosure task becomes ready: its form is pre-filled from the researcher's disclosure profile
  (service/disclosures);
* a screening-results form is submitted: refused while automated hits wait for review;
* a disclosure form is submitted: the certification is recorded for the case, and the researcher's profile
  follows what they declared (changes start follow-ups on their other active cases).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .auth.actor import Actor
from .models import Case, WorkItem


def on_tasks_ready(session: Session, case: Case, tasks: list) -> None:
    """`tasks`: the HumanTasks that have just become ready (their data may still be changed)."""
    if not tasks:
        return
    from .disclosures import prefill_disclosure_tasks
    from .screening.procedure import screen_ready_tasks

    screen_ready_tasks(session, case, tasks)
    prefill_disclosure_tasks(session, case, tasks)


def before_task_completed(session: Session, case: Case, item: WorkItem, flow, actor: Actor, data: dict) -> None:
    """After the form data validated, before anything is written: may refuse with ValidationFailed."""
    from .disclosures import record_disclosure_certification
    from .screening.procedure import check_screening_submission

    check_screening_submission(session, case, item, data)
    record_disclosure_certification(session, case, item, flow, actor, data)
