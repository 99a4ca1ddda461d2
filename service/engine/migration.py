"""Moving a running workflow onto another version of its process specs.

SpiffWorkflow aligns the old and new specs by element id (and by structure where ids changed). A case
can move when every live task (ready, waiting, started, or predicted to come) still has a counterpart in
the new version, and every live sub-process still exists there. Live tasks whose element changed are
reset: they are offered again under the new definition (e.g. the new form), with their data kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .runtime import CaseWorkflow, _spec_serializer

LIVE = TaskState.NOT_FINISHED_MASK | TaskState.STARTED
DEFINITE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class MigrationPlan:
    can_migrate: bool
    reasons: list[str] = field(default_factory=list)
    # element ids of live tasks that will be offered again under their new definition
    reset: list[str] = field(default_factory=list)
    # element ids whose definition changed (whether or not a live task sits on them)
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "can_migrate": self.can_migrate, "reasons": self.reasons, "reset": self.reset,
            "changed": self.changed, "added": self.added, "removed": self.removed,
        }


def _bpmn_id(spec) -> str | None:
    return getattr(spec, "bpmn_id", None)


def _ids(specs) -> list[str]:
    return sorted({i for i in (_bpmn_id(s) for s in specs) if i})


def spec_changes(old_spec, old_subprocess_specs: dict, new_spec, new_subprocess_specs: dict) -> dict:
    """Element ids added, removed and changed between two versions of a process and its sub-processes."""
    registry = _spec_serializer.registry
    added, removed, changed = set(), set(), set()
    pairs = [(old_spec, new_spec)] + [
        (spec, new_subprocess_specs.get(name)) for name, spec in old_subprocess_specs.items()
    ]
    for old, new in pairs:
        if new is None:
            removed |= set(_ids(old.task_specs.values()))
            continue
        diff = SpecDiff(registry, old, new)
        added |= set(_ids(diff.added))
        removed |= set(_ids(diff.removed))
        changed |= set(_ids(diff.changed))
    for name, spec in new_subprocess_specs.items():
        if name not in old_subprocess_specs:
            added |= set(_ids(spec.task_specs.values()))
    return {"added": sorted(added), "removed": sorted(removed), "changed": sorted(changed)}


def plan(flow: CaseWorkflow, new_spec, new_subprocess_specs: dict) -> tuple[MigrationPlan, tuple]:
    """What moving this workflow to the new specs would do, and whether it can."""
    top_diff, sub_diffs = diff_workflow(_spec_serializer.registry, flow.wf, new_spec, new_subprocess_specs)
    changes = spec_changes(flow.wf.spec, flow.wf.subprocess_specs, new_spec, new_subprocess_specs)
    result = MigrationPlan(can_migrate=True, **changes)
    workflows = [(flow.wf, top_diff)] + [(flow.wf.subprocesses[i], d) for i, d in sub_diffs.items()]
    reset = set()
    for workflow, diff in workflows:
        if diff is None:
            if any(t.has_state(LIVE) for t in workflow.tasks.values()):
                result.can_migrate = False
                result.reasons.append(f"process '{workflow.spec.name}' is running but missing from the new version")
            continue
        for task in diff.removed:
            if task.has_state(DEFINITE) and _bpmn_id(task.task_spec):
                result.can_migrate = False
                result.reasons.append(
                    f"'{_bpmn_id(task.task_spec)}' is {_state(task)} but was removed in the new version"
                )
        reset |= {
            _bpmn_id(t.task_spec) for t in diff.changed
            if t.has_state(TaskState.READY | TaskState.WAITING) and _bpmn_id(t.task_spec)
        }
    result.reset = sorted(reset)
    result.reasons = sorted(set(result.reasons))
    return result, (top_diff, sub_diffs)


def _state(task) -> str:
    return TaskState.get_name(task.state).lower()


def apply(flow: CaseWorkflow, new_spec, new_subprocess_specs: dict, diffs: tuple) -> None:
    """Move the workflow (and its live sub-processes) onto the new specs; the caller planned first."""
    top_diff, sub_diffs = diffs
    for sp_id, diff in sub_diffs.items():
        if diff is not None:
            subprocess = flow.wf.subprocesses[sp_id]
            migrate_workflow(diff, subprocess, new_subprocess_specs[subprocess.spec.name])
    migrate_workflow(top_diff, flow.wf, new_spec)
    flow.wf.subprocess_specs = new_subprocess_specs
    flow.advance()
