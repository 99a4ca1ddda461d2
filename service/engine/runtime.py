"""Running one case's workflow: start, restore, complete tasks, fire timers, deliver messages, save.

Two engine facts shape this module (see docs/architecture.md, "Engine"):

* SpiffWorkflow keeps every task it ever ran in one tree, and a loop makes the tree deeper on each pass.
  Its task iterator stops at depth 1000, so a case that loops ~330 times would look completed and lose its
  ready task; and every step walks the whole tree, so cost grows with history. After every change we
  therefore *prune*: the completed ancestors above the lowest common ancestor of all unfinished tasks can
  never matter again (the audit log, not the tree, is the history), so they are dropped. The live tree
  stays the size of the diagram, not of the case's past.
* The serialized state normally embeds the process specs. We store specs once per model version
  (`ModelSpec`) and keep them out of case states.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from . import timeshift  # noqa: F401  (puts SpiffWorkflow's timers on tejun's clock)
from .sandbox import SandboxedScriptEngine
from .sandbox_values import data_problem

log = logging.getLogger(__name__)

UNFINISHED = TaskState.NOT_FINISHED_MASK
_STATE_FORMAT = 1
# engine tasks one unit of work may run before we call it an endless loop (no person or timer in it)
MAX_ENGINE_STEPS = 5000
# call activities nested deeper than this are a process calling itself, not a procedure
MAX_SUBPROCESS_DEPTH = 25


class EngineError(Exception):
    """The model could not go on: a script failed or was refused, an expression was wrong, ...

    `element_id` names the BPMN element when known; the message is meant for the people fixing the model.
    """

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id

    def __str__(self) -> str:
        return f"{self.element_id}: {self.message}" if self.element_id else self.message


class TaskNotReady(Exception):
    """The task is not a ready human task of this case (already done, never existed, not human)."""


class NoCatcher(Exception):
    """Nothing in the case is waiting for this message right now."""


class _LeanWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its specs: they live once per model version."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _make_serializer(lean: bool) -> BpmnWorkflowSerializer:
    # models are parsed with SpiffWorkflow's spiff parser, so its serializer configuration applies
    config = dict(SPIFF_CONFIG)
    if lean:
        config[BpmnWorkflow] = _LeanWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_serializer = _make_serializer(lean=True)
_spec_serializer = _make_serializer(lean=False)


def dump_specs(spec, subprocess_specs: dict) -> str:
    """The JSON stored once per (model version, entry process)."""
    registry = _spec_serializer.registry
    return json.dumps(
        {
            "spec": registry.convert(spec),
            "subprocess_specs": {name: registry.convert(sp) for name, sp in subprocess_specs.items()},
        }
    )


def load_specs(spec_json: str) -> tuple[Any, dict]:
    registry = _spec_serializer.registry
    dct = json.loads(spec_json)
    return registry.restore(dct["spec"]), {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()}


@dataclass
class HumanTask:
    """A ready user task, as the application needs to route and show it."""

    task_id: str
    element_id: str
    process_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    data: dict = field(repr=False)
    instructions: str | None = None  # spiffworkflow:instructionsForEndUser (Markdown with Jinja), if any


@dataclass
class OpenTask:
    """A task the case is at (ready, waiting or started), as audit views and replays compare them."""

    element_id: str
    process_id: str
    state: str
    manual: bool
    data: dict = field(repr=False)


@dataclass
class WaitingMessage:
    name: str
    element_id: str
    lane: str | None


class CaseWorkflow:
    """One case's workflow, restored for the length of one unit of work."""

    def __init__(self, workflow: BpmnWorkflow, visited: set[str] | None = None, time_limit: float = 1.0):
        self.wf = workflow
        self.wf.script_engine = SandboxedScriptEngine(time_limit=time_limit)
        # element ids ever completed: the diagram's "done" markers, bounded by the diagram's size
        self.visited: set[str] = visited or set()
        # element ids completed since restore, in order: what this unit of work made the engine do
        self.completed_log: list[str] = []

    # -- life cycle -------------------------------------------------------------------------------------
    @classmethod
    def create(cls, spec, subprocess_specs: dict, data: dict, time_limit: float = 1.0) -> CaseWorkflow:
        """A new workflow holding `data`, not yet advanced (call `advance()` to run it to its first wait)."""
        flow = cls(BpmnWorkflow(spec, subprocess_specs), time_limit=time_limit)
        for task in flow.wf.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return flow

    @classmethod
    def restore(cls, blob: bytes, spec, subprocess_specs: dict, time_limit: float = 1.0) -> CaseWorkflow:
        dct = json.loads(zlib.decompress(blob))
        if dct.pop("tejun_format", None) != _STATE_FORMAT:
            raise EngineError("stored case state has an unknown format")
        visited = set(dct.pop("tejun_visited", []))
        version = dct.pop(_serializer.VERSION_KEY, _serializer.VERSION)
        if version != _serializer.VERSION:
            dct[_serializer.VERSION_KEY] = version
            _serializer.migrate(dct)
        dct["spec"] = spec
        dct["subprocess_specs"] = subprocess_specs
        workflow = _serializer.from_dict(dct)
        return cls(workflow, visited, time_limit)

    @staticmethod
    def peek_ready_task(blob: bytes, spec, subprocess_specs: dict, task_id: str) -> HumanTask:
        """One ready human task of a stored workflow, read from the state without restoring the workflow.

        Showing a task needs its data, properties and instructions, not a live workflow: restoring builds every
        task object of the case (and its sub-processes) to read one. This decodes the stored dictionary and
        follows only the task's own chain of parents, as the serializer's task converter would (a task stores
        what changed against its parent). `TaskNotReady` as `human_task` raises it; `lane` is the element's own.
        """
        dct = json.loads(zlib.decompress(blob))
        if dct.get("tejun_format") != _STATE_FORMAT or dct.get(_serializer.VERSION_KEY) != _serializer.VERSION:
            flow = CaseWorkflow.restore(blob, spec, subprocess_specs)  # an older state: the serializer migrates it
            return flow.human_task(task_id)
        holders = [(dct["tasks"], spec)]
        holders += [(sub["tasks"], subprocess_specs.get(sub.get("spec")))
                    for sub in dct.get("subprocesses", {}).values()]
        for tasks, process in holders:
            found = tasks.get(str(task_id))
            if found is None or process is None:
                continue
            task_spec = process.task_specs.get(found["task_spec"])
            if task_spec is None or not task_spec.manual or not found["state"] & TaskState.READY:
                raise TaskNotReady(task_id)
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}
            return HumanTask(
                task_id=str(task_id),
                element_id=task_spec.bpmn_id or task_spec.name,
                process_id=process.name,
                name=task_spec.bpmn_name or task_spec.bpmn_id or task_spec.name,
                lane=task_spec.lane,
                properties=dict(props),
                data=_stored_data(tasks, found),
                instructions=(getattr(task_spec, "extensions", None) or {}).get("instructionsForEndUser"),
            )
        raise TaskNotReady(task_id)

    def dump(self) -> bytes:
        try:
            text = self._dump_text()
        except (TypeError, ValueError, RecursionError):
            # The sandbox lets only data into task data; should anything else get there all the same, the case
            # must still be saved (else every later request on it fails): what is not data is dropped, loudly.
            dropped = self._drop_non_data()
            log.error("case state held values that are not data, dropped: %s", "; ".join(dropped))
            text = self._dump_text()
        return zlib.compress(text.encode(), 1)

    def _dump_text(self) -> str:
        _serializer.registry._encoder_mode = True
        try:
            dct = _serializer.to_dict(self.wf)
        finally:
            _serializer.registry._encoder_mode = False
        dct[_serializer.VERSION_KEY] = _serializer.VERSION
        dct["tejun_format"] = _STATE_FORMAT
        dct["tejun_visited"] = sorted(self.visited)
        return json.dumps(dct, separators=(",", ":"), default=_json_default)

    def _drop_non_data(self) -> list[str]:
        dropped = []
        holders = [t.data for t in self._all_tasks()]
        holders += [w.data for w in (self.wf, *self.wf.subprocesses.values())]
        holders += [w.data_objects for w in (self.wf, *self.wf.subprocesses.values())]
        for data in holders:
            for name in list(data):
                problem, _size = data_problem(data[name], expression=True)
                if problem:
                    dropped.append(f"{name}: {problem}")
                    del data[name]
        return dropped

    # -- reading ----------------------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        return self.wf.is_completed()

    def ready_human_tasks(self) -> list[HumanTask]:
        tasks = self.wf.get_tasks(state=TaskState.READY, manual=True)
        return [self._human(task) for task in tasks]

    def human_task(self, task_id: str) -> HumanTask:
        return self._human(self._ready_manual(task_id))

    def active_element_ids(self) -> list[str]:
        active = self.wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
        return sorted({t.task_spec.bpmn_id for t in active if getattr(t.task_spec, "bpmn_id", None)})

    def open_tasks(self) -> list[OpenTask]:
        """Every ready, waiting or started task of a BPMN element, in tree order (audit views and replays)."""
        wanted = TaskState.READY | TaskState.WAITING | TaskState.STARTED
        found = []
        for task in self.wf.get_tasks(state=wanted):
            element_id = getattr(task.task_spec, "bpmn_id", None)
            if element_id:
                found.append(OpenTask(element_id, task.workflow.spec.name, TaskState.get_name(task.state).lower(),
                                      bool(task.task_spec.manual), task.data))
        return found

    def waiting_events(self) -> list[tuple[str, str, str | None]]:
        """(element id, "timer" | "message" | other kind, when a timer fires as ISO text) of waiting catchers."""
        found = []
        for task in self.wf.event_manager.tasks.values():
            if not task.has_state(TaskState.WAITING):
                continue
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                value = task._get_internal_data("event_value")
                if isinstance(value, dict):
                    value = value.get("next")
                found.append((task.task_spec.bpmn_id, "timer", value if isinstance(value, str) else None))
            elif isinstance(definition, MessageEventDefinition):
                found.append((task.task_spec.bpmn_id, "message", definition.name))
            elif definition is not None:
                found.append((task.task_spec.bpmn_id, type(definition).__name__, None))
        return sorted(found, key=lambda item: (item[0] or "", item[1]))

    def current_data(self) -> dict:
        """The case's data as it stands: the newest ready/waiting task's data, else the last finished task's."""
        live = [t for t in self._all_tasks() if t.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)]
        if live:
            return max(live, key=lambda t: t.last_state_change).data
        last = self.wf.last_task
        if last is None:
            finished = [t for t in self.wf.tasks.values() if t.has_state(TaskState.COMPLETED)]
            last = max(finished, key=lambda t: t.last_state_change) if finished else None
        return last.data if last is not None else {}

    def waiting_messages(self) -> list[WaitingMessage]:
        """Messages the case would catch now: waiting catch events, and message-started event sub-processes."""
        return [WaitingMessage(d.name, element_id, lane) for d, element_id, lane in self._message_catchers()]

    def _message_catchers(self):
        for task in self.wf.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and task.has_state(TaskState.WAITING):
                yield definition, task.task_spec.bpmn_id, self._lane_of(task)
        if self.completed:
            return
        # event sub-processes started by a message exist only once the message comes (SpiffWorkflow 3.2)
        for name in self.wf.spec.start.trigger_specs:
            holder = self.wf.spec.task_specs.get(name)
            for start in self.wf.subprocess_specs[name].bpmn_start_events:
                if isinstance(start.event_definition, MessageEventDefinition):
                    yield start.event_definition, start.bpmn_id, getattr(holder, "lane", None)

    def next_timer_at(self) -> datetime | None:
        """When the earliest waiting timer fires (None when no timer waits)."""
        moments = []
        for task in self.wf.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):  # cycle timers
                value = value.get("next") if value.get("cycles") != 0 else None
            if isinstance(value, str):
                try:
                    moments.append(TimerEventDefinition.get_datetime(value))
                except ValueError:
                    continue
        return min(moments) if moments else None

    def lookup(self, key: str) -> Any:
        """A data value as the case currently sees it: from the live tasks, newest first, else the last task."""
        live = [t for t in self._all_tasks() if t.has_state(UNFINISHED | TaskState.STARTED)]
        for task in sorted(live, key=lambda t: t.last_state_change, reverse=True):
            if key in task.data:
                return task.data[key]
        last = self.wf.last_task
        return last.data.get(key) if last is not None else None

    def evaluate(self, task_id: str, expression: str) -> Any:
        task = self.wf.get_task_from_id(UUID(task_id))
        with self._engine_errors():
            return self.wf.script_engine.evaluate(task, expression)

    # -- changing ---------------------------------------------------------------------------------------
    def complete(self, task_id: str, data: dict) -> None:
        task = self._ready_manual(task_id)
        task.data.update(data)
        with self._engine_errors():
            task.run()
        self._mark_visited(task)
        self.advance()

    def advance(self) -> None:
        """Run every engine task that can run (scripts, gateways, due timers, ...), then prune."""
        steps = 0

        def count(task) -> None:
            nonlocal steps
            steps += 1
            if task.workflow.depth > MAX_SUBPROCESS_DEPTH:
                raise EngineError(
                    f"sub-processes nest more than {MAX_SUBPROCESS_DEPTH} deep: does a process call itself?",
                    getattr(task.task_spec, "bpmn_id", None),
                )
            if steps > MAX_ENGINE_STEPS:
                raise EngineError(
                    f"the model ran {MAX_ENGINE_STEPS} steps without waiting for a person, a timer or a message:"
                    " an endless loop?",
                    getattr(task.task_spec, "bpmn_id", None),
                )

        with self._engine_errors():
            # do_engine_steps ends by refreshing the timers: only when that made an engine task ready (a due
            # timer fired) is there more to run. Asking is one pass over the task dictionaries; another
            # do_engine_steps is several walks of the task tree, on every completion.
            self.wf.do_engine_steps(will_complete_task=count, did_complete_task=self._mark_visited)
            if self._engine_task_ready():
                self.wf.do_engine_steps(will_complete_task=count, did_complete_task=self._mark_visited)
        # events nobody in the case caught (e.g. from terminate end events) have no one else to go to
        self.wf.get_events()
        self.prune()

    def deliver_message(self, name: str, payload: dict) -> None:
        # the model's own definition object: definitions compare by class, and carry the correlations
        definition = next((d for d, _id, _lane in self._message_catchers() if d.name == name), None)
        if definition is None:
            raise NoCatcher(name)
        with self._engine_errors():
            self.wf.send_event(BpmnEvent(definition, payload=payload))
        self.advance()

    def prune(self) -> int:
        """Drop tasks that can no longer influence the case (see the module docstring). Returns how many."""
        removed = 0
        for workflow in [self.wf, *self.wf.subprocesses.values()]:
            removed += self._prune_workflow(workflow)
        return removed

    # -- internals --------------------------------------------------------------------------------------
    def _prune_workflow(self, workflow) -> int:
        """Remove finished tasks that nothing can consult again; see `prune`.

        Kept: the root; every unfinished task and its ancestors' *shape* (splicing keeps descendant order);
        the direct parent of every unfinished task (data inheritance and join checks read it); the split an
        open structured join looks up by name; every finished instance of a join that is still open, with
        its parent (parallel and inclusive joins count them). Everything else that is finished is either a
        dead branch (dropped) or an interior link of a finished chain (spliced out).
        """
        tasks = workflow.tasks
        unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
        if not unfinished:
            return 0
        protected: set[UUID] = {workflow.task_tree.id}
        live: set[UUID] = set()
        for task in unfinished:
            if task._parent is not None:
                protected.add(task._parent)
            node = task
            while node is not None and node.id not in live:
                live.add(node.id)
                node = node.parent
            split_name = getattr(task.task_spec, "split_task", None)
            if isinstance(task.task_spec, Join) and split_name:
                split = task.find_ancestor(split_name)
                if split is not None:
                    protected.add(split.id)
        open_joins = {t.task_spec for t in unfinished if isinstance(t.task_spec, Join)}
        if open_joins:
            for task in tasks.values():
                if task.task_spec in open_joins and task.has_state(TaskState.FINISHED_MASK):
                    protected.add(task.id)
                    if task._parent is not None:
                        protected.add(task._parent)

        before = len(tasks)
        # 1. finished dead branches hanging off finished nodes on a live path
        for tid in list(live):
            node = tasks[tid]
            if not node.has_state(TaskState.FINISHED_MASK):
                continue
            for child_id in list(node._children):
                if child_id in live:
                    continue
                subtree = _subtree_ids(tasks, child_id)
                if protected.isdisjoint(subtree):
                    node._children.remove(child_id)
                    self._forget(workflow, subtree)
        # 2. finished single-child links of a live path
        for tid in list(live):
            node = tasks.get(tid)
            if node is None or tid in protected or not node.has_state(TaskState.FINISHED_MASK):
                continue
            if len(node._children) != 1 or node._parent is None:
                continue
            parent = tasks[node._parent]
            child = tasks[node._children[0]]
            parent._children[parent._children.index(tid)] = child.id
            child._parent = parent.id
            node._children = []
            self._forget(workflow, [tid])
        if workflow.last_task is not None and workflow.last_task.id not in tasks:
            workflow.last_task = None
        return before - len(tasks)

    def _forget(self, workflow, task_ids) -> None:
        for tid in task_ids:
            if tid in self.wf.subprocesses:
                self.wf.delete_subprocess(workflow.tasks[tid])
            workflow.tasks.pop(tid, None)

    def _engine_task_ready(self) -> bool:
        return any(t.state == TaskState.READY and not t.task_spec.manual for t in self._all_tasks())

    def _all_tasks(self):
        yield from self.wf.tasks.values()
        for sub in self.wf.subprocesses.values():
            yield from sub.tasks.values()

    def _ready_manual(self, task_id: str):
        try:
            task = self.wf.get_task_from_id(UUID(str(task_id)))
        except (ValueError, SpiffWorkflowException):
            raise TaskNotReady(task_id) from None
        if task is None or not task.task_spec.manual or not task.has_state(TaskState.READY):
            raise TaskNotReady(task_id)
        return task

    def _human(self, task) -> HumanTask:
        spec = task.task_spec
        props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
        return HumanTask(
            task_id=str(task.id),
            element_id=spec.bpmn_id or spec.name,
            process_id=task.workflow.spec.name,
            name=spec.bpmn_name or spec.bpmn_id or spec.name,
            lane=self._lane_of(task),
            properties=dict(props),
            data=task.data,
            instructions=(getattr(spec, "extensions", None) or {}).get("instructionsForEndUser"),
        )

    def _lane_of(self, task) -> str | None:
        """The task's lane; elements inside an embedded or event sub-process take the sub-process's lane."""
        lane = task.task_spec.lane
        workflow = task.workflow
        while lane is None and workflow.parent_task_id is not None:
            parent = self.wf.get_task_from_id(workflow.parent_task_id)
            lane, workflow = parent.task_spec.lane, parent.workflow
        return lane

    def _mark_visited(self, task) -> None:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and task.has_state(TaskState.COMPLETED):
            self.visited.add(bpmn_id)
            self.completed_log.append(bpmn_id)

    def _engine_errors(self):
        return _EngineErrors()


class _EngineErrors:
    """Turns whatever the engine or a sandboxed script raises into an EngineError naming the element."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, EngineError | TaskNotReady | NoCatcher):
            return False
        element_id = None
        task = getattr(exc, "task", None)
        if task is not None:
            element_id = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
        element_id = element_id or getattr(exc, "id", None) or getattr(exc, "task_id", None)
        message = _describe(exc)
        raise EngineError(message, element_id) from exc


def _describe(exc: BaseException) -> str:
    """The most useful one-line reason: the root cause's message, plus Spiff's notes when they add to it."""
    root = exc
    while getattr(root, "exception", None) is not None and root.exception is not root:
        root = root.exception
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(root) or root.__class__.__name__
    if root is not exc and isinstance(exc, SpiffWorkflowException):
        outer = getattr(exc, "error_line", "") or ""
        if outer:
            text = f"{text} (in: {outer.strip()})"
    return text.splitlines()[0][:500] if text else exc.__class__.__name__


def _subtree_ids(tasks: dict, root_id: UUID) -> list[UUID]:
    found, stack = [], [root_id]
    while stack:
        tid = stack.pop()
        task = tasks.get(tid)
        if task is None:
            continue
        found.append(tid)
        stack.extend(task._children)
    return found


def _stored_data(tasks: dict, found: dict) -> dict:
    """A serialized task's data: its nearest ancestor holding whole data, then each delta down to it."""
    chain = [found]
    while chain[-1].get("delta") and chain[-1]["parent"] in tasks:
        chain.append(tasks[chain[-1]["parent"]])
    restore = _serializer.registry.restore
    data = restore(chain[-1]["data"])
    for task in reversed(chain[:-1]):
        delta = task["delta"]
        data = DeepMerge.merge({}, data)
        data.update(restore(delta.get("updates", {})))
        for key in delta.get("deletions", {}):
            data.pop(key, None)
    return data


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    # what expressions may return (decision table outputs land in task data): saved as text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
