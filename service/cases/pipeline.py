"""The one path every change to a case's workflow takes: restore → step → route → hooks → record → save.

A `CaseChange` is opened inside a unit of work for one case. Use cases (commands, designation, migration of
cases between model versions, the timer worker, follow-up delivery through `send_message`) and tejun's own
changes to a ready task's data (the screening form refreshed after a hit is reviewed) all go through it, and
nothing else writes `case_states`. Everything it does to the workflow is recorded in the case's event stream
in the same transaction, which is what lets `flask --app wsgi audit replay` re-execute a case identically:

| step | what |
| --- | --- |
| restore | the workflow from `case_states`, on the case's pinned model version |
| step | the use case's own move (`advance`, `complete`, `deliver_message`, a migration) at the change's instant |
| route | `routing.refresh_case` and `refresh_work_items`: the case row and the work-item read model |
| hooks | `task_hooks.on_tasks_ready` (screening) for the newly ready tasks; what they put there is recorded;
  `task_hooks.after_run` (a completed designation takes effect) |
| record | `task_data_set`, `engine_error`, then `engine_steps` (or `timer_fired`) events; `task_data_changed`
  for tejun's own change to a ready task between runs (`set_task_data`) |
| save | the serialized workflow back into `case_states` |

Replays (service/audit/replay.py) run the same object with writes switched off (`CaseChange.replaying`): the
same restore, step, route checks (`routing.route_of`) and error transition, on a summary of the case instead of
its row; no work items, hooks, notifications or events are written, and what it would have recorded is kept in
`CaseChange.recorded` for the replay to compare with the record.

A model failure (a script refused by the sandbox, a wrong expression) does not fail the use case: the case
goes into `error` with the reason (`_stop_in_error`, the only place that transition is written), its work
items are withdrawn, and the input that got it there is kept in the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import SYSTEM, Actor
from ..designer.store import model_hash, specs_for
from ..engine.runtime import CaseWorkflow, EngineError
from ..eventlog import chain
from ..eventlog.hashing import dumps as canonical_json
from ..models import Case, CaseState, WorkItem
from ..notifications import notify_assigned
from ..services import Services
from ..task_hooks import after_run
from .routing import open_items, refresh_case, refresh_work_items, route_of


@dataclass
class Outcome:
    """What a use case reports back: the case's new version and the tasks now open to the actor."""

    case_id: int
    version: int
    status: str
    next_task_ids: list[str] = field(default_factory=list)
    error: str | None = None
    # the change was recorded but held until the case can take it (service/followups): the case did not move
    held: bool = False


# key added to an event's data when several tasks of one element are ready at once (multi-instance): the
# task's position among them, in `ready_human_tasks()` order, for replays
INSTANCE_KEY = "@instance"


def instant(session: Session) -> datetime:
    """The one moment a unit of work happens at: its events' `at`, and "now" for its engine steps and scripts.

    Replays re-run each recorded event at its `at` (service/audit/replay.py), so they see the same time.
    """
    return session.info.setdefault("tejun_instant", clock.now())


def restore_flow(session: Session, case: Case, time_limit: float, state: CaseState | None = None) -> CaseWorkflow:
    """The case's workflow as stored, on its pinned model version (`state`: its row, when already read)."""
    state = state if state is not None else session.get(CaseState, case.id)
    # the session's identity map holds rows weakly: keep this one for `save`, or it reloads the blob
    session.info.setdefault("tejun_states", {})[case.id] = state
    return restore_blob(session, case.model_version_id, case.process_id, state.state, time_limit)


def restore_blob(session: Session, version_id: int, process_id: str, blob: bytes, time_limit: float) -> CaseWorkflow:
    """A serialized workflow on the specs of a model version (the stored state, or a replay's)."""
    spec, subprocess_specs = specs_for(session, version_id, process_id)
    return CaseWorkflow.restore(blob, spec, subprocess_specs, time_limit=time_limit)


def put_task_data(flow: CaseWorkflow, element_id: str, data: dict) -> bool:
    """Apply a recorded `task_data_set` / `task_data_changed` (`set`, `unset`, `@instance`) to the ready task of
    that element; False when there is no such task."""
    same = [t for t in flow.ready_human_tasks() if t.element_id == element_id]
    ordinal = data.get(INSTANCE_KEY, 0)
    if ordinal >= len(same):
        return False
    target = same[ordinal].data
    target.update(data.get("set") or {})
    for key in data.get("unset") or []:
        target.pop(key, None)
    return True


def record_event(session: Session, case: Case, actor: Actor, action: str, **fields) -> dict:
    """An event in the case's stream at the unit of work's instant (who holds a task, a designation applied);
    events that move the workflow are recorded by the `CaseChange` that moves it."""
    fields.setdefault("at", instant(session))
    return chain.append(
        session,
        stream=chain.case_stream(case.id),
        case_id=case.id,
        action=action,
        actor_id=actor.user_id,
        actor_name=actor.username,
        model_hash=model_hash(session, case.model_version_id),
        **fields,
    )


class CaseChange:
    """One change to one case, inside the caller's unit of work (or, writes off, inside a replay)."""

    def __init__(self, session: Session, case: Case, actor: Actor, flow: CaseWorkflow, *,
                 at: datetime | None = None, writes: bool = True, routed: set[str] | None = None):
        self.session = session
        self.case = case
        self.actor = actor
        self.flow = flow
        self.at = at or instant(session)
        self.writes = writes
        # writes off: the ready tasks that already have a work item (routing only builds items for new ones)
        self.routed = routed or set()
        self.recorded: list[dict] = []  # writes off: the events it would have recorded
        self.error: EngineError | None = None  # the model failure that stopped the case, if any
        self.blob: bytes | None = None  # the serialized workflow after `save`

    # -- opening ------------------------------------------------------------------------------------------
    @classmethod
    def of(cls, session: Session, svc: Services, case: Case, actor: Actor, state: CaseState | None = None
           ) -> CaseChange:
        """A change to a case that exists: its workflow restored (from `state`, its stored row, when the caller
        read it with the case)."""
        return cls(session, case, actor, restore_flow(session, case, svc.settings.script_time_limit, state))

    @classmethod
    def new(cls, session: Session, case: Case, actor: Actor, flow: CaseWorkflow) -> CaseChange:
        """The first change of a case whose workflow was just created (start, designation)."""
        return cls(session, case, actor, flow)

    @classmethod
    def replaying(cls, session: Session, summary, flow: CaseWorkflow, at: datetime,
                  routed: set[str]) -> CaseChange:
        """A change with writes off, for replays: `summary` stands for the case row (status, outcome, stage,
        risk level, error, next wakeup, kind, organizations), `at` is the recorded event's moment."""
        return cls(session, summary, SYSTEM, flow, at=at, writes=False, routed=routed)

    # -- recording ----------------------------------------------------------------------------------------
    def record(self, action: str, actor: Actor | None = None, **fields) -> dict:
        """An event in the case's stream, at the change's instant, under the case's model version."""
        if not self.writes:
            event = {"action": action, **fields}
            self.recorded.append(event)
            return event
        return record_event(self.session, self.case, actor or self.actor, action, **fields)

    # -- running ------------------------------------------------------------------------------------------
    def run(self, step: Callable[[CaseWorkflow], None], action: str = "engine_steps") -> None:
        """Run `step(flow)`, then route, run the hooks, record and save; a model failure stops the case in
        error, keeping the input."""
        case, flow, now = self.case, self.flow, self.at
        try:
            with clock.held_at(now):
                step(flow)
                refresh_case(case, flow, now)
                if self.writes:
                    self._route()
                else:
                    self._check_routes()
                after_run(self)  # a completed designation takes effect (service/wiring.py)
        except EngineError as exc:
            self._stop_in_error(exc)
        if flow.completed_log:
            self.record(action, data={"completed": flow.completed_log})
            flow.completed_log = []
        self.save()

    def set_task_data(self, task_id: str, changes: dict) -> bool:
        """tejun itself changes a ready task's data between engine runs (not a person's submission): applied,
        recorded as `task_data_changed` (so replays put it there too, without running the engine) and saved.
        False when nothing changed."""
        task = self.flow.human_task(task_id)
        changed = {k: v for k, v in changes.items() if canonical_json(task.data.get(k)) != canonical_json(v)}
        if not changed:
            return False
        task.data.update(changed)
        data: dict = {"set": changed, "unset": []}
        same = [t.task_id for t in self.flow.ready_human_tasks() if t.element_id == task.element_id]
        if len(same) > 1:
            data[INSTANCE_KEY] = same.index(task.task_id)
        self.record("task_data_changed", actor=SYSTEM, task_id=task.task_id, element_id=task.element_id,
                    data=data)
        self.case.updated_at = self.at  # the form changed under whoever has it open: their next submit reloads
        self.save()
        return True

    def save(self) -> None:
        blob = self.blob = self.flow.dump()
        if not self.writes:
            return
        session, case = self.session, self.case
        state = session.info.get("tejun_states", {}).get(case.id) or session.get(CaseState, case.id)
        if state is None:
            session.add(CaseState(case_id=case.id, state=blob, updated_at=self.at))
        else:
            state.state = blob
            state.updated_at = self.at

    # -- the parts ----------------------------------------------------------------------------------------
    def _stop_in_error(self, exc: EngineError) -> None:
        """The case stops where it is: nobody can work on it until an administrator retries it."""
        case = self.case
        case.status = "error"
        case.error_message = str(exc)[:2000]
        case.next_wakeup_at = None
        case.updated_at = self.at
        self.error = exc
        if self.writes:
            self.session.execute(delete(WorkItem).where(WorkItem.case_id == case.id))
            open_items(self.session)[case.id] = []
        self.record("engine_error", element_id=exc.element_id, data={"message": exc.message})

    def _route(self) -> None:
        """The work-item read model follows the ready tasks; the hooks run on the new ones, and what they put
        there is recorded; new assignees are told; notifications of tasks no longer open are done."""
        session, case = self.session, self.case
        before: dict[str, dict[str, str]] = {}
        created = refresh_work_items(session, case, self.flow, self.at,
                                     lambda tasks: before.update(_ready_data(tasks)))
        self._record_data_set(before)  # what hooks put into ready tasks (screening results)
        _tell_assignees(session, created)
        from ..notifications import mark_tasks_done

        mark_tasks_done(session, case.id)

    def _check_routes(self) -> None:
        """Writes off: what routing would fail on for the newly ready tasks (`routing.route_of`)."""
        for task in self.flow.ready_human_tasks():
            if task.task_id not in self.routed:
                route_of(self.session, self.case, self.flow, task)

    def _record_data_set(self, before: dict[str, dict[str, str]]) -> None:
        """Data tejun itself put into ready tasks while routing them (screening results) is part of what the
        case decided on: recorded, so replays put it there too.

        `before`: the newly ready tasks' data before the hooks ran; the other ready tasks were not given to
        them."""
        if not before:
            return
        ready = self.flow.ready_human_tasks()
        for task in ready:
            if task.task_id not in before:
                continue
            old = before[task.task_id]
            changed = {k: v for k, v in task.data.items() if old.get(k) != canonical_json(v)}
            removed = sorted(k for k in old if k not in task.data)
            if not changed and not removed:
                continue
            data: dict = {"set": changed, "unset": removed}
            same = [t.task_id for t in ready if t.element_id == task.element_id]
            if len(same) > 1:
                data[INSTANCE_KEY] = same.index(task.task_id)
            self.record("task_data_set", actor=SYSTEM, task_id=task.task_id, element_id=task.element_id,
                        data=data)


def _ready_data(tasks) -> dict[str, dict[str, str]]:
    """Each task's data, key by key as canonical JSON (to see what routing's hooks change).

    Only the newly ready tasks (routing's hooks change no others): snapshotting every ready task's whole data
    on every change cost more than the rest of routing."""
    return {t.task_id: {k: canonical_json(v) for k, v in t.data.items()} for t in tasks}


def _tell_assignees(session: Session, items: list[WorkItem]) -> None:
    """New work items the model routed to one person: that person is notified (in-app, then e-mail)."""
    for item in items:
        if item.assignee_id is not None:
            notify_assigned(session, item, item.assignee_id)


def open_task_ids(session: Session, actor: Actor, case_id: int) -> list[str]:
    """The case's open tasks the actor may work now (what a use case reports back)."""
    from ..auth.permissions import may_work

    items = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    return [item.task_id for item in items if may_work(actor, item)]


def outcome(session: Session, actor: Actor, case: Case, *, with_tasks: bool = True) -> Outcome:
    session.flush()  # the case's new version
    if not with_tasks:
        tasks = []
    elif (items := open_items(session).get(case.id)) is not None:  # as this transaction's routing left them
        from ..auth.permissions import may_work

        tasks = [item.task_id for item in items if may_work(actor, item)]
    else:
        tasks = open_task_ids(session, actor, case.id)
    return Outcome(case.id, case.version, case.status, tasks, case.error_message)
