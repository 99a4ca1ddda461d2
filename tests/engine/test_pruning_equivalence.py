"""Pruning must never change what a workflow does. Every executable model of SpiffWorkflow's own test
suite (../shared/corpora) is driven twice, pruned and unpruned, saving and restoring along the way; the
tasks offered, their data and the end state must be identical."""

from __future__ import annotations

import json

import pytest

from service.engine.loader import ModelError, load_model
from service.engine.runtime import CaseWorkflow, EngineError
from tests.corpora import CORPORA

MODELS = sorted((CORPORA / "spiffworkflow-tests").rglob("*.bpmn"))
MAX_STEPS = 60


def _drive(spec, subprocess_specs, prune: bool):
    def fresh(flow):
        if not prune:
            flow.prune = lambda: 0
        return flow

    trace = []
    flow = fresh(CaseWorkflow.create(spec, subprocess_specs, {}, time_limit=0.5))
    try:
        flow.advance()
        for step in range(MAX_STEPS):
            offered = [
                (t.element_id, json.dumps(t.data, sort_keys=True, default=str), t) for t in flow.ready_human_tasks()
            ]
            offered.sort(key=lambda entry: entry[:2])
            ready = [entry[2] for entry in offered]
            trace.append([entry[:2] for entry in offered])
            if not ready:
                break
            flow.complete(ready[0].task_id, {})
            if step % 2:
                flow = fresh(CaseWorkflow.restore(flow.dump(), spec, subprocess_specs, time_limit=0.5))
    except EngineError as exc:
        trace.append(("error", exc.element_id, exc.message))
    return trace, flow.completed, sorted(flow.visited)


def _executable(path):
    siblings = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.suffix == ".dmn"}
    siblings[path.name] = path.read_bytes()
    try:
        model = load_model(siblings)
    except ModelError:
        return []
    found = []
    for process_id in model.process_ids:
        try:
            found.append((process_id, model.specs_for(process_id)))
        except ModelError:
            continue
    return found


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_pruned_and_unpruned_runs_agree(path):
    processes = _executable(path)
    if not processes:
        pytest.skip("no executable process loads on its own")
    for process_id, (spec, subprocess_specs) in processes:
        pruned = _drive(spec, subprocess_specs, prune=True)
        unpruned = _drive(spec, subprocess_specs, prune=False)
        assert pruned == unpruned, process_id
