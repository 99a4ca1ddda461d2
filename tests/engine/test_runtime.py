"""The engine runtime: loops that never exhaust the engine, state that does not grow, time that tests move."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest

from service.engine.loader import load_model
from service.engine.runtime import CaseWorkflow, NoCatcher, TaskNotReady
from tests.conftest import DATA


def _specs(folder: str, process_id: str):
    files = {p.name: p.read_bytes() for p in (DATA / "models" / folder).iterdir() if p.is_file()}
    return load_model(files).specs_for(process_id)


LOOP = _specs("loop", "loop_case")
CALL = {"call": {"risk_deadline": "2027-01-29", "follow_up_interval": "P12M"}}


def _round(flow: CaseWorkflow, again: bool = True) -> None:
    (edit,) = flow.ready_human_tasks()
    assert edit.element_id == "edit"
    flow.complete(edit.task_id, {"summary": "measures"})
    (review,) = flow.ready_human_tasks()
    assert review.element_id == "review"
    flow.complete(review.task_id, {"decision": "again" if again else "accept"})


def _tree_size(flow: CaseWorkflow) -> int:
    return len(flow.wf.tasks) + sum(len(sp.tasks) for sp in flow.wf.subprocesses.values())


def test_a_loop_taken_600_times_keeps_its_ready_task_through_save_and_restore():
    flow = CaseWorkflow.create(*LOOP, CALL)
    flow.advance()
    sizes = {}
    for round_no in range(1, 601):
        _round(flow)
        # persist and restore every round, as the service does
        flow = CaseWorkflow.restore(flow.dump(), *LOOP)
        if round_no in (10, 600):
            sizes[round_no] = (len(flow.dump()), _tree_size(flow))
    assert not flow.completed
    (ready,) = flow.ready_human_tasks()
    assert ready.element_id == "edit"
    assert ready.data["rounds"] == 600
    # the live tree and the stored state do not grow with history
    assert sizes[600][1] == sizes[10][1]
    assert sizes[600][0] <= sizes[10][0] * 1.1
    _round(flow, again=False)
    assert flow.completed


def test_without_pruning_the_engine_would_lose_the_task(monkeypatch):
    """The hazard is real: switch pruning off and the same loop 'completes' with its ready task lost."""
    monkeypatch.setattr(CaseWorkflow, "prune", lambda self: 0)
    flow = CaseWorkflow.create(*LOOP, CALL)
    flow.advance()
    lost_at = None
    for step in range(1, 1201):
        ready = flow.ready_human_tasks()
        if not ready:
            lost_at = step // 2
            break
        flow.complete(ready[0].task_id, {"summary": "m"} if ready[0].element_id == "edit" else {"decision": "again"})
    assert lost_at is not None and lost_at < 600
    assert flow.completed  # the engine reports the case as done although nobody accepted it


def test_stored_state_carries_no_specs():
    flow = CaseWorkflow.create(*LOOP, CALL)
    flow.advance()
    state = json.loads(zlib.decompress(flow.dump()))
    assert "spec" not in state and "subprocess_specs" not in state
    assert state["tejun_visited"] == ["init", "start"] or set(state["tejun_visited"]) >= {"start", "init"}


def test_completing_a_task_that_is_not_ready_is_refused():
    flow = CaseWorkflow.create(*LOOP, CALL)
    flow.advance()
    (edit,) = flow.ready_human_tasks()
    flow.complete(edit.task_id, {"summary": "x"})
    with pytest.raises(TaskNotReady):
        flow.complete(edit.task_id, {"summary": "again"})
    with pytest.raises(TaskNotReady):
        flow.complete("not-a-uuid", {})


def test_timers_fire_on_the_injected_clock(travel):
    flow = CaseWorkflow.create(*_specs("timers", "timer_case"), CALL)
    flow.advance()
    start = travel.moment
    assert flow.ready_human_tasks() == []
    assert flow.next_timer_at() == start + timedelta(days=30)
    travel.advance(days=29)
    flow = CaseWorkflow.restore(flow.dump(), *_specs("timers", "timer_case"))
    flow.advance()
    assert flow.ready_human_tasks() == []
    travel.advance(days=2)
    flow.advance()
    (check,) = flow.ready_human_tasks()
    assert check.element_id == "yearly_check"
    flow.complete(check.task_id, {"done": False})
    # the 12-month wait reads its duration from the call: P12M from now
    assert flow.next_timer_at().date() == (travel.moment + timedelta(days=365)).date()


def test_a_message_reaches_the_waiting_event_subprocess(travel):
    specs = _specs("timers", "timer_case")
    flow = CaseWorkflow.create(*specs, CALL)
    flow.advance()
    assert [m.name for m in flow.waiting_messages()] == ["withdraw"]
    flow.deliver_message("withdraw", {"withdraw_reason": "project cancelled"})
    assert flow.completed
    assert flow.lookup("outcome") == "withdrawn"
    with pytest.raises(NoCatcher):
        flow.deliver_message("withdraw", {})


def test_years_of_follow_up_keep_the_tree_small(travel):
    """A boundary catcher waits on the sub-process for the whole case; the yearly loop still prunes."""
    specs = _specs("timers", "timer_case")
    flow = CaseWorkflow.create(*specs, CALL)
    flow.advance()
    travel.advance(days=31)
    flow.advance()
    sizes = []
    for _year in range(60):
        (check,) = flow.ready_human_tasks()
        flow.complete(check.task_id, {"done": False})
        travel.advance(days=370)
        flow = CaseWorkflow.restore(flow.dump(), *specs)
        flow.advance()
        sizes.append(_tree_size(flow))
    assert max(sizes[10:]) == min(sizes[10:])
    assert [m.name for m in flow.waiting_messages()] == ["withdraw"]
    flow.deliver_message("withdraw", {})
    assert flow.lookup("outcome") == "withdrawn"


def test_a_state_holding_something_that_is_not_data_is_still_saved():
    # the sandbox lets only data into task data; should anything else get there, saving must not fail (a 500
    # on every later request): it is dropped, and what is data stays
    flow = CaseWorkflow.create(*LOOP, CALL)
    flow.advance()
    (edit,) = flow.ready_human_tasks()
    edit.data.update(function=len, deep=_deep(5000), kept=[1])
    restored = CaseWorkflow.restore(flow.dump(), *LOOP)
    (again,) = restored.ready_human_tasks()
    assert again.data["kept"] == [1] and "function" not in again.data and "deep" not in again.data


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value
