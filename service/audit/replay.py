"""Replaying a case from its event log: the case at any point in its past, and proof its state is genuine.

The case's stream holds everything that moved it, with the moment it happened (a use case runs at one
instant: `service.cases.pipeline.instant`):

| event | replay does |
| --- | --- |
| `case_started` | creates the workflow on the version its `model_hash` names, with the start data; runs it |
| `task_completed` | completes the ready task of that element (the `@instance`-th when several) with the data |
| `message_delivered` | delivers the message with its payload |
| `case_retried` | runs the engine again after an error |
| `case_migrated` | moves the workflow onto `to_version_id` (service/engine/migration.py) and runs it |
| `timer_fired` | runs the engine at that moment (timers due then fire), unless it records a run just replayed |
| `task_data_set` | puts into the ready task what tejun put there while routing it (pre-filled forms) |
| `task_data_changed` | puts into a ready task what tejun changed there between engine runs (a screening form |
|                     | refreshed after a hit was reviewed); runs no engine |
| `engine_steps`, `engine_error` | are checked: the replay must have completed the same elements / failed the same way |
| `task_claimed`, `task_released`, `task_assigned` | only change who holds a task (shown in views) |
| `submission_frozen` | nothing: it records the package the institution submitted (its round and SHA-256, |
|                     | service/cases/submissions.py), after the run that submitted it; it does not move the case |

Each run happens at the event's `at` (`clock.held_at`, this thread only), starting from the state as it was
serialized after the previous run, as the live system does. The case row's summary (status, outcome,
stage, risk level, error) is derived with the same code as live (`routing.refresh_case`).

What a run checked against the database of the day (an organization a task is routed to, a programme code
owned by another funding agency) cannot be re-checked years later: when the record has an `engine_error` the
replayed engine did not raise itself, after the engine did the same steps, the replay takes the recorded
error as given (`CaseReplay.notes` says so). Any real difference in the engine's work still shows in the
`engine_steps` check or in the final state.

`CaseReplay.view()` is the case as it stood after the last replayed event (point-in-time view);
`replay_and_compare` replays everything and compares the result with the stored state and case row:
active elements, completed elements, every open task's element, state and data, the case's current data
(what a completed case ended with), the next timer, and the summary fields. Task UUIDs are not compared (a
replay makes new ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cases.pipeline import INSTANCE_KEY, CaseChange, put_task_data, restore_blob
from ..designer.store import specs_for
from ..engine import migration as engine_migration
from ..engine.runtime import CaseWorkflow, EngineError, NoCatcher, TaskNotReady
from ..eventlog.chain import case_stream
from ..models import Case, CaseState, Event, ModelSpec, ModelVersion

STEP_ACTIONS = frozenset({"case_started", "task_completed", "message_delivered", "case_retried", "case_migrated"})
# what an engine run leaves after its initiating event, in this order: routing's data, an error, the steps
RESULT_ACTIONS = frozenset({"task_data_set", "engine_error", "engine_steps", "timer_fired"})
HOLDER_ACTIONS = frozenset({"task_claimed", "task_released", "task_assigned"})
# tejun changed a ready task's data outside an engine run (pipeline.CaseChange.set_task_data)
DATA_ACTIONS = frozenset({"task_data_changed"})
# keys of `case_started` data that describe the case for people; the rest is the workflow's start data
CASE_STARTED_DISPLAY_KEYS = ("title", "variant")
_EVENT_FIELDS = ("id", "seq", "at", "actor_id", "actor_name", "action", "task_id", "element_id", "data",
                 "model_hash", "hash")


class ReplayFailed(Exception):
    """The record cannot be replayed at all (no start, an unknown model version, ...)."""


@dataclass
class Difference:
    """Where replay and record part: at an event (seq), or in the final state (seq None)."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"event {self.seq}: {self.what}" if self.seq is not None else f"final state: {self.what}"


@dataclass
class _Pending:
    """What the last engine run did, waiting for the events that record it."""

    seq: int
    at: datetime
    worker: bool
    completed: list[str]
    error: tuple[str | None, str] | None
    completed_checked: bool = False
    error_checked: bool = False


def load_events(session: Session, case_id: int, upto: int | None = None) -> list[dict]:
    """The case stream's events in order, as plain dicts."""
    table = Event.__table__
    query = select(*(table.c[name] for name in _EVENT_FIELDS)).where(table.c.stream == case_stream(case_id))
    if upto is not None:
        query = query.where(table.c.seq <= upto)
    return [dict(row._mapping) for row in session.execute(query.order_by(table.c.seq))]


def plain(value: Any) -> Any:
    """A JSON-safe copy (dates as ISO text), so data compares as it would be stored."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, set):
        return sorted(value)
    return str(value)


class CaseReplay:
    """Re-executes one case's events on its pinned model version(s)."""

    def __init__(self, session: Session, case: Case, events: list[dict] | None = None, time_limit: float = 1.0):
        self.session = session
        self.case = case
        self.events = events if events is not None else load_events(session, case.id)
        self.time_limit = time_limit
        self.differences: list[Difference] = []
        self.notes: list[str] = []
        self.position = 0  # events applied so far
        self.flow: CaseWorkflow | None = None
        self._blob: bytes | None = None
        self.version_id: int | None = None
        self.model_hash: str | None = None
        # stands for the case row in the replayed pipeline (what `routing.refresh_case` derives, and what
        # routing and designation read)
        self.summary = SimpleNamespace(status="running", outcome=None, stage=None, risk_level=None,
                                       error_message=None, next_wakeup_at=None, updated_at=None,
                                       id=case.id, kind=case.kind, call_id=None, process_id=case.process_id,
                                       funding_agency_id=case.funding_agency_id,
                                       lead_institution_id=case.lead_institution_id)
        self._routed: set[str] = set()  # ready tasks that already have a work item (as live)
        self._pending: _Pending | None = None
        self.holders: dict[str, dict] = {}  # recorded task id -> {"element_id", "user_id", "username"}
        self.last_event: dict | None = None

    # -- driving ------------------------------------------------------------------------------------------
    def run(self, upto: int | None = None, stop_at_difference: bool = True) -> CaseReplay:
        """Apply events up to seq `upto` (all when None); stops at the first difference unless told not to."""
        while self.position < len(self.events):
            event = self.events[self.position]
            if upto is not None and event["seq"] > upto:
                break
            self.apply(event)
            if stop_at_difference and self.differences:
                break
        return self

    def apply(self, event: dict) -> None:
        self.position += 1
        self.last_event = event
        expected_seq = self.position
        if event["seq"] != expected_seq:
            self._differ(event, f"expected event seq {expected_seq}, the record has {event['seq']}")
            return
        action = event["action"]
        if self.flow is None and action != "case_started":
            self._differ(event, f"the record starts with '{action}', not 'case_started'")
            return
        if self.model_hash is not None and event["model_hash"] not in (None, self.model_hash) \
                and action != "case_migrated":
            self._differ(event, f"recorded under model {event['model_hash'][:12]} but the case was on "
                                f"{self.model_hash[:12]}")
        if action in STEP_ACTIONS:
            self._close_pending()
            getattr(self, f"_on_{action}")(event)
        elif action in RESULT_ACTIONS:
            self._run_of(event)
            if action == "engine_error":
                self._check_error(event)
            elif action == "task_data_set":
                self._on_task_data_set(event)
            else:
                self._check_completed(event)
        elif action in HOLDER_ACTIONS:
            self._on_holder(event)
        elif action in DATA_ACTIONS:
            self._close_pending()
            self.flow = self._restore()
            self._on_task_data_set(event)
        # any other action (notes, reads, ...) does not change the case

    def _run_of(self, event: dict) -> None:
        """The engine run a result event belongs to: the pending one when it happened in the same unit of work
        (one instant: `pipeline.instant`) and has not recorded its end yet, else a timer worker run at the
        event's moment (worker runs have no event of their own before their results)."""
        pending = self._pending
        if pending is not None and not pending.completed_checked and pending.at == event["at"]:
            return
        self._close_pending()
        self._execute(event, lambda f: f.advance(), worker=True)

    def finish(self) -> None:
        """Check the last engine run was recorded in full."""
        self._close_pending()

    # -- event handlers -----------------------------------------------------------------------------------
    def _on_case_started(self, event: dict) -> None:
        if self.flow is not None:
            self._differ(event, "a second 'case_started'")
            return
        version_id = self._version_for(event["model_hash"], prefer=self.case.model_version_id)
        self.version_id, self.model_hash = version_id, event["model_hash"]
        spec, subprocess_specs = specs_for(self.session, version_id, self.case.process_id)
        start = {k: v for k, v in (event["data"] or {}).items() if k not in CASE_STARTED_DISPLAY_KEYS}
        flow = CaseWorkflow.create(spec, subprocess_specs, start, time_limit=self.time_limit)
        self._execute(event, lambda f: f.advance(), flow=flow)

    def _on_task_completed(self, event: dict) -> None:
        data = dict(event["data"] or {})
        ordinal = data.pop(INSTANCE_KEY, 0)
        self.holders.pop(event["task_id"], None)
        flow = self._restore()
        same = [t for t in flow.ready_human_tasks() if t.element_id == event["element_id"]]
        if ordinal >= len(same):
            self._differ(event, f"no ready task '{event['element_id']}' to complete (the replay has "
                                f"{len(same)}; ready: {', '.join(t.element_id for t in flow.ready_human_tasks())})")
            return
        task_id = same[ordinal].task_id
        self._execute(event, lambda f: f.complete(task_id, data), flow=flow)

    def _on_message_delivered(self, event: dict) -> None:
        data = event["data"] or {}
        self._execute(event, lambda f: f.deliver_message(data.get("message"), data.get("payload") or {}))

    def _on_case_retried(self, event: dict) -> None:
        if self.summary.status != "error":
            self._differ(event, f"the case was retried, but in the replay it is {self.summary.status}")
        self._execute(event, lambda f: f.advance())

    def _on_case_migrated(self, event: dict) -> None:
        data = event["data"] or {}
        target = data.get("to_version_id")
        target_hash = data.get("to_hash") or event["model_hash"]
        version = self.session.get(ModelVersion, target) if target is not None else None
        if version is None or version.content_hash != target_hash:
            target = self._version_for(target_hash)
        flow = self._restore()
        new_spec, new_subs = specs_for(self.session, target, self.case.process_id)
        plan, diffs = engine_migration.plan(flow, new_spec, new_subs)
        if not plan.can_migrate:
            self._differ(event, "the replay cannot migrate: " + "; ".join(plan.reasons))
            return
        self.version_id, self.model_hash = target, target_hash
        if self.summary.status == "error":
            self.summary.status = "running"
        self._execute(event, lambda f: engine_migration.apply(f, new_spec, new_subs, diffs), flow=flow)

    def _on_task_data_set(self, event: dict) -> None:
        if not put_task_data(self.flow, event["element_id"], event["data"] or {}):
            self._differ(event, f"no ready task '{event['element_id']}' to put the pre-filled data into")
            return
        self._blob = self.flow.dump()

    def _on_holder(self, event: dict) -> None:
        task_id, data = event["task_id"], event["data"] or {}
        if event["action"] == "task_released":
            self.holders.pop(task_id, None)
            return
        if event["action"] == "task_assigned":
            user_id, username = data.get("to_user_id"), data.get("to_username")
        else:
            user_id, username = event["actor_id"], event["actor_name"]
        self.holders[task_id] = {"element_id": event["element_id"], "user_id": user_id, "username": username,
                                 "since": event["at"]}

    # -- one engine run: the live pipeline's CaseChange, writes off -----------------------------------------
    def _restore(self) -> CaseWorkflow:
        return restore_blob(self.session, self.version_id, self.case.process_id, self._blob, self.time_limit)

    def _execute(self, event: dict, step, flow: CaseWorkflow | None = None, worker: bool = False) -> None:
        at = event["at"]
        flow = flow or self._restore()
        flow.completed_log = []
        change = CaseChange.replaying(self.session, self.summary, flow, at, routed=self._routed)
        try:
            change.run(step)
        except (TaskNotReady, NoCatcher) as exc:
            self._differ(event, f"the replay could not do it: {type(exc).__name__} {exc}")
            return
        error = (change.error.element_id, change.error.message) if change.error else None
        completed = [c for e in change.recorded if e["action"] == "engine_steps" for c in e["data"]["completed"]]
        self._routed = set() if error else {t.task_id for t in flow.ready_human_tasks()}
        self._pending = _Pending(event["seq"], at, worker, completed, error)
        self.flow = flow
        self._blob = change.blob
        ready_elements = {t.element_id for t in flow.ready_human_tasks()}
        self.holders = {k: v for k, v in self.holders.items() if v["element_id"] in ready_elements}

    # -- checking the recorded results ------------------------------------------------------------------
    def _check_completed(self, event: dict) -> None:
        pending = self._pending
        recorded = list((event["data"] or {}).get("completed") or [])
        pending.completed_checked = True
        if recorded != pending.completed:
            self._differ(event, f"recorded completed {_short(recorded)}, the replay completed "
                                f"{_short(pending.completed)}")

    def _check_error(self, event: dict) -> None:
        pending = self._pending
        pending.error_checked = True
        recorded = (event["element_id"], (event["data"] or {}).get("message"))
        if pending.error is None:
            # raised after the engine's steps by a check against the database of the day: taken as recorded
            summary = self.summary
            summary.status = "error"
            summary.error_message = str(EngineError(recorded[1] or "", recorded[0]))[:2000]
            summary.next_wakeup_at = None
            pending.error = recorded
            self._routed = set()
            self.notes.append(f"event {event['seq']}: error taken as recorded (it came from a check against the "
                              f"database at the time): {summary.error_message}")
            return
        if pending.error != recorded:
            replayed = f"{pending.error[0]}: {pending.error[1]}" if pending.error else "no error"
            self._differ(event, f"recorded error {recorded[0]}: {recorded[1]}, the replay had {replayed}")

    def _close_pending(self) -> None:
        pending = self._pending
        if pending is None:
            return
        if pending.completed and not pending.completed_checked:
            self.differences.append(Difference(pending.seq, f"the replay completed {_short(pending.completed)} "
                                                            "but no event records it"))
        if pending.error and not pending.error_checked:
            self.differences.append(Difference(pending.seq, f"the replay failed ({pending.error[0]}: "
                                                            f"{pending.error[1]}) but no engine_error is recorded"))
        self._pending = None

    def _differ(self, event: dict, what: str) -> None:
        self.differences.append(Difference(event["seq"], what))

    def _version_for(self, content_hash: str | None, prefer: int | None = None) -> int:
        """A stored model version with this content (any set: same content, same specs) that has the process."""
        rows = self.session.execute(
            select(ModelVersion.id)
            .join(ModelSpec, ModelSpec.model_version_id == ModelVersion.id)
            .where(ModelVersion.content_hash == content_hash, ModelSpec.process_id == self.case.process_id)
        ).scalars().all()
        if not rows:
            raise ReplayFailed(f"no stored model version {str(content_hash)[:12]} with process "
                               f"'{self.case.process_id}'")
        return prefer if prefer in rows else min(rows)

    # -- views --------------------------------------------------------------------------------------------
    def final_state(self) -> dict:
        """The canonical state after the replayed events, read back from its serialized form (as stored)."""
        return canonical_state(self._restore(), self.summary)

    def view(self) -> dict:
        """The case as it stood after the last applied event."""
        return view_of(self.flow, self.summary, self.session, self.version_id, self.model_hash,
                       holders=self.holders, event=self.last_event)


def _short(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit]) + (f", … (+{len(items) - limit})" if len(items) > limit else "")
    return f"[{shown}]"


# -- views and their comparison ---------------------------------------------------------------------------
SUMMARY_FIELDS = ("status", "outcome", "stage", "risk_level", "error_message")


def view_of(flow: CaseWorkflow | None, summary, session: Session, version_id: int | None,
            model_hash: str | None, holders: dict | None = None, event: dict | None = None) -> dict:
    """A point-in-time view: what a page shows about the case at one moment (plain JSON-safe data)."""
    view: dict[str, Any] = {name: getattr(summary, name, None) for name in SUMMARY_FIELDS}
    view.update(model_version_id=version_id, model_hash=model_hash, seq=event["seq"] if event else 0,
                at=event["at"] if event else None)
    if flow is None:
        view.update(active=[], completed=[], tasks=[], waiting=[], open=[], data={}, next_timer_at=None,
                    holders=[])
        return view
    holders = holders or {}
    tasks = []
    ready = flow.ready_human_tasks()
    for task in ready:
        held = [h for h in holders.values() if h["element_id"] == task.element_id]
        same = sum(1 for t in ready if t.element_id == task.element_id)
        tasks.append({
            "element_id": task.element_id, "name": task.name, "lane": task.lane, "process_id": task.process_id,
            "form": task.properties.get("formJsonSchemaFilename"), "stage": task.properties.get("stage"),
            "holder": held[0]["username"] if len(held) == 1 and same == 1 else None,
            "data": plain(task.data),
        })
    timer = flow.next_timer_at()
    view.update(
        active=flow.active_element_ids(),
        completed=sorted(flow.visited),
        tasks=tasks,
        open=[{"element_id": t.element_id, "process_id": t.process_id, "state": t.state, "manual": t.manual}
              for t in flow.open_tasks()],
        waiting=[{"element_id": e, "kind": k, "detail": d} for e, k, d in flow.waiting_events()],
        data=plain(flow.current_data()),
        next_timer_at=timer.astimezone(UTC).isoformat() if timer else None,
        holders=[{"task_id": k, **{n: v for n, v in h.items() if n != "since"}} for k, h in holders.items()],
    )
    return view


def canonical_state(flow: CaseWorkflow, summary) -> dict:
    """What must be equal between a replay and the stored case (no task UUIDs, no wall-clock times)."""
    timer = flow.next_timer_at()
    return {
        **{name: getattr(summary, name, None) for name in SUMMARY_FIELDS},
        "active": flow.active_element_ids(),
        "visited": sorted(flow.visited),
        "open": [{"element_id": t.element_id, "process_id": t.process_id, "state": t.state, "data": plain(t.data)}
                 for t in flow.open_tasks()],
        # the case's data as it stands (for a completed case: what it ended with)
        "data": plain(flow.current_data()),
        "next_timer_at": timer.astimezone(UTC).isoformat() if timer else None,
    }


def first_difference(stored: Any, replayed: Any, path: str = "") -> str | None:
    """The first place two JSON-like values differ, as `path: stored …, replayed …`; None when equal."""
    if isinstance(stored, dict) and isinstance(replayed, dict):
        for key in sorted(set(stored) | set(replayed), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in stored:
                return f"{where}: not stored, replayed {brief(replayed[key])}"
            if key not in replayed:
                return f"{where}: stored {brief(stored[key])}, not in the replay"
            found = first_difference(stored[key], replayed[key], where)
            if found:
                return found
        return None
    if isinstance(stored, list) and isinstance(replayed, list):
        for index, (a, b) in enumerate(zip(stored, replayed, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        if len(stored) != len(replayed):
            return f"{path}: stored {len(stored)} item(s), replayed {len(replayed)}"
        return None
    if stored != replayed or type(stored) is not type(replayed):
        return f"{path}: stored {brief(stored)}, replayed {brief(replayed)}"
    return None


def brief(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def stored_state(session: Session, case: Case, time_limit: float = 1.0) -> dict:
    state = session.get(CaseState, case.id)
    flow = restore_blob(session, case.model_version_id, case.process_id, state.state, time_limit)
    return canonical_state(flow, case)


@dataclass
class ReplayResult:
    case_id: int
    events: int
    identical: bool
    differences: list[Difference] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None


def replay_and_compare(session: Session, case: Case, time_limit: float = 1.0) -> ReplayResult:
    """Re-execute the case's whole record and compare the outcome with the stored state and case row."""
    import time

    started = time.perf_counter()
    replay = CaseReplay(session, case, time_limit=time_limit)
    try:
        replay.run()
    except ReplayFailed as exc:
        return ReplayResult(case.id, len(replay.events), False, [Difference(None, str(exc))],
                            time.perf_counter() - started)
    if not replay.differences:
        replay.finish()
    differences = list(replay.differences)
    if not differences:
        if replay.version_id is not None and replay.model_hash != _hash_of(session, case.model_version_id):
            differences.append(Difference(None, f"the case is on model version {case.model_version_id}, the "
                                                f"replay ended on {replay.version_id}"))
        else:
            found = first_difference(stored_state(session, case, time_limit), replay.final_state())
            if found:
                differences.append(Difference(None, found))
    return ReplayResult(case.id, len(replay.events), not differences, differences, time.perf_counter() - started)


def _hash_of(session: Session, version_id: int) -> str | None:
    return session.scalar(select(ModelVersion.content_hash).where(ModelVersion.id == version_id))


def point_in_time(session: Session, case: Case, seq: int | None, time_limit: float = 1.0) -> dict:
    """The case after event `seq` (the latest when None), with the view just before it and what it changed.

    Returns {"view", "before", "event", "changes", "differences", "events", "replay"}; `differences` lists
    where the record stopped replaying (the view then shows the case as far as it got).
    """
    events = load_events(session, case.id)
    if not events:
        raise ReplayFailed("this case has no recorded events")
    last = events[-1]["seq"]
    seq = last if seq is None else max(1, min(seq, last))
    replay = CaseReplay(session, case, events=events, time_limit=time_limit)
    replay.run(upto=seq - 1)
    before = replay.view()
    if not replay.differences:
        replay.run(upto=seq)
    after = replay.view()
    return {"view": after, "before": before, "event": events[seq - 1], "changes": changes(before, after),
            "differences": replay.differences, "events": events, "replay": replay}


def changes(before: dict, after: dict) -> dict:
    """What one event changed, in terms people read: summary fields, tasks, elements, data keys."""
    fields = {name: (before.get(name), after.get(name)) for name in (*SUMMARY_FIELDS, "model_hash")
              if before.get(name) != after.get(name)}
    tasks_before = [t["element_id"] for t in before.get("tasks", [])]
    tasks_after = [t["element_id"] for t in after.get("tasks", [])]
    data_before, data_after = before.get("data") or {}, after.get("data") or {}
    data = {
        key: (data_before.get(key), data_after.get(key))
        for key in sorted(set(data_before) | set(data_after))
        if data_before.get(key) != data_after.get(key)
    }
    return {
        "fields": fields,
        "opened": [e for e in tasks_after if e not in tasks_before],
        "closed": [e for e in tasks_before if e not in tasks_after],
        "completed": sorted(set(after.get("completed", [])) - set(before.get("completed", []))),
        "data": data,
    }


# -- for the command line (`flask --app wsgi audit replay`): each opens its own read session --------------------
def case_ids(svc) -> list[int]:
    """Every case's id, in order."""
    with svc.db.reader() as session:
        return list(session.scalars(select(Case.id).order_by(Case.id)))


def replay_case(svc, case_id: int) -> tuple[str, ReplayResult] | None:
    """(the case's reference, its replay compared with the stored state); None when there is no such case."""
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        if case is None:
            return None
        return case.reference, replay_and_compare(session, case, time_limit=svc.settings.script_time_limit)


def case_at(svc, case_id: int, seq: int) -> dict | None:
    """The case after event `seq` (`point_in_time`); None when there is no such case."""
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        if case is None:
            return None
        return point_in_time(session, case, seq, time_limit=svc.settings.script_time_limit)
