"""The hook points around particular forms, called by the use cases (one line each in routing and commands).

What answers them lives in its own package and is registered at start-up (`service/wiring.py`, called by
`create_app`), so the case pipeline never imports the screening, disclosure, attachment or dashboard code back:

* `on_tasks_ready`: a screening-results task becomes ready: its subjects are screened and its form pre-filled
  (service/screening/hooks.py); evidence named in a task's context is shared with where it was routed;
* `starting_data`: a disclosure form is shown: it starts from the researcher's disclosure profile when the viewer
  may have it there (service/disclosures.starting_data; computed for the viewer, never stored in the case);
* `before_task_completed`: a screening-results form is submitted: refused while automated hits wait for review;
  a disclosure form is submitted: the certification is recorded for the case, and the researcher's profile
  follows what they declared (changes start follow-ups on their other active cases);
* `on_task_completed`: a task was completed (its event recorded): the dashboards' figures of the case follow
  (service/dashboards/read_model.py);
* `after_run`: after every engine run of a `CaseChange` (live or replayed, service/cases/pipeline.py): a
  completed designation takes effect (service/cases/designation.py).

A hook point nobody registered for raises `HooksNotRegistered`: a process that forgot to wire them would
otherwise skip screening silently.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from .auth.actor import Actor
from .models import Case, WorkItem

POINTS = ("tasks_ready", "starting_data", "before_task_completed", "task_completed", "after_run")
_registry: dict[str, list[Callable]] | None = None


class HooksNotRegistered(RuntimeError):
    """A use case reached a hook point before start-up registered the hooks (service/wiring.py)."""


def register(point: str, function: Callable) -> None:
    """Add `function` to a hook point (once: registering it again changes nothing)."""
    global _registry
    if point not in POINTS:
        raise ValueError(f"unknown hook point {point!r}")
    if _registry is None:
        _registry = {name: [] for name in POINTS}
    if function not in _registry[point]:
        _registry[point].append(function)


def _hooks(point: str) -> list[Callable]:
    if _registry is None:
        raise HooksNotRegistered("task hooks are not registered: call service.wiring.register_hooks() at start-up")
    return _registry[point]


def on_tasks_ready(session: Session, case: Case, tasks: list, items: list | None = None) -> None:
    """`tasks`: the HumanTasks that have just become ready (their data may still be changed); `items`: their
    new work items (where each was routed)."""
    if not tasks:
        return
    for hook in _hooks("tasks_ready"):
        hook(session, case, tasks, items or [])


def starting_data(session: Session, actor: Actor, case: Case, item: WorkItem, task_data: dict) -> dict:
    """What a form shows before anyone typed into it, beyond what the case holds: for this viewer only."""
    found: dict = {}
    for hook in _hooks("starting_data"):
        found.update(hook(session, actor, case, item, task_data))
    return found


def before_task_completed(session: Session, case: Case, item: WorkItem, flow, actor: Actor, data: dict) -> None:
    """After the form data validated, before anything is written: may refuse with ValidationFailed."""
    for hook in _hooks("before_task_completed"):
        hook(session, case, item, flow, actor, data)


def on_task_completed(session: Session, case: Case, event: dict) -> None:
    """A `task_completed` event was just recorded (its fields): what follows it in the same transaction (the
    dashboards' figures; not workflow state, a replay never touches them)."""
    for hook in _hooks("task_completed"):
        hook(session, case, event)


def after_run(change) -> None:
    """A `CaseChange` ran the engine and routed (service/cases/pipeline.py); may raise EngineError, which stops
    the case in error."""
    for hook in _hooks("after_run"):
        hook(change)
