"""Replay: re-executing a case's record proves its stored state, and shows the case at any point in its past."""

from __future__ import annotations

import json
import threading
import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from service import clock
from service.audit.replay import point_in_time, replay_and_compare
from service.auth.actor import SYSTEM
from service.cases import commands
from service.cases.migration import migrate_case
from service.designer.store import store_version
from service.models import Case, CaseState, Event
from service.unit_of_work import unit_of_work
from service.worker.timers import run_once
from tests.conftest import DATA, model_set

from .helpers import items, loop_case, only_item


def _case(svc, case_id: int) -> Case:
    with svc.db.reader() as session:
        return session.get(Case, case_id)


def _replay(svc, case_id: int):
    with svc.db.reader() as session:
        return replay_and_compare(session, session.get(Case, case_id))


def _moment(svc, case_id: int, seq: int | None) -> dict:
    with svc.db.reader() as session:
        return point_in_time(session, session.get(Case, case_id), seq)


def _events(svc, case_id: int) -> list[Event]:
    with svc.db.reader() as session:
        return list(session.scalars(select(Event).where(Event.stream == f"case:{case_id}").order_by(Event.seq)))


def test_a_looping_case_replays_identically(svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=3)
    result = _replay(svc, case_id)
    assert result.identical, result.differences
    assert result.events == len(_events(svc, case_id))
    assert _case(svc, case_id).status == "completed"


def test_the_case_after_any_event(svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=2)
    events = _events(svc, case_id)
    claimed = next(e for e in events if e.action == "task_claimed")
    first_done = next(e for e in events if e.action == "task_completed")

    started = _moment(svc, case_id, 1)["view"]
    assert [t["element_id"] for t in started["tasks"]] == ["edit"]
    assert (started["status"], started["stage"], started["active"]) == ("running", "mitigation", ["edit"])
    assert started["data"]["rounds"] == 0 and started["data"]["case"]["title"] == "量子センサー共同研究"

    held = _moment(svc, case_id, claimed.seq)["view"]
    assert held["tasks"][0]["holder"] == world.username("security")

    moment = _moment(svc, case_id, first_done.seq)
    view, changes = moment["view"], moment["changes"]
    assert [t["element_id"] for t in view["tasks"]] == ["review"] and view["stage"] == "fa_review"
    assert {"edit", "count_round", "init", "start"} <= set(view["completed"])
    assert changes["closed"] == ["edit"] and changes["opened"] == ["review"]
    assert changes["fields"] == {"stage": ("mitigation", "fa_review")}
    assert changes["data"]["rounds"] == (0, 1)
    assert changes["data"]["summary"] == (None, "第1版: 入退室管理を強化")
    assert moment["event"]["actor_name"] == world.username("security")

    latest = _moment(svc, case_id, None)["view"]
    assert latest["status"] == "completed" and latest["tasks"] == [] and latest["data"]["decision"] == "accept"


def test_the_cli_replays_and_shows_a_moment(app, svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=1)
    runner = app.test_cli_runner()
    replayed = runner.invoke(args=["audit", "replay", str(case_id)])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.startswith(f"identical: case {case_id}")
    shown = runner.invoke(args=["audit", "replay", str(case_id), "--at", "2"])
    assert shown.exit_code == 0, shown.output
    assert [t["element_id"] for t in json.loads(shown.output)["view"]["tasks"]] == ["edit"]


def _edit_state(svc, case_id: int, change) -> None:
    with unit_of_work(svc) as session:
        row = session.get(CaseState, case_id)
        state = json.loads(zlib.decompress(row.state))
        change(state)
        session.execute(update(CaseState).where(CaseState.case_id == case_id)
                        .values(state=zlib.compress(json.dumps(state).encode())))


def test_replay_catches_a_state_edited_behind_the_engines_back(app, svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=1)

    def falsify(node):  # wherever the state keeps the submitted summary
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "summary" and isinstance(value, str):
                    node[key] = "対策は不要と判断"
                else:
                    falsify(value)
        elif isinstance(node, list):
            for value in node:
                falsify(value)

    _edit_state(svc, case_id, falsify)
    result = _replay(svc, case_id)
    assert not result.identical
    assert "summary" in str(result.first) and "対策は不要と判断" in str(result.first)
    out = app.test_cli_runner().invoke(args=["audit", "replay", str(case_id)])
    assert out.exit_code == 1 and out.output.startswith(f"different: case {case_id}")


def test_replay_catches_a_case_row_edited_behind_the_engines_back(svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=1)
    with unit_of_work(svc) as session:
        session.execute(update(Case).where(Case.id == case_id).values(risk_level="L0"))
    result = _replay(svc, case_id)
    assert not result.identical and "risk_level" in str(result.first)


def test_timers_and_messages_replay_at_their_recorded_moments(svc, world, travel):
    model_set(svc, "timers")
    security = world.actor("security")
    case_id = commands.start_case(svc, security, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="timers", process_id="timer_case", model_set="test-timers").case_id
    start = travel.moment
    travel.advance(days=30, minutes=1)
    assert case_id in run_once(svc)
    commands.complete_task(svc, security, only_item(svc, case_id).task_id, {"done": False})
    travel.advance(days=400)
    assert case_id in run_once(svc)
    travel.advance(days=3)
    commands.send_message(svc, security, case_id, "withdraw", {"withdraw_reason": "中止"})  # a reason is required
    assert (_case(svc, case_id).status, _case(svc, case_id).outcome) == ("completed", "withdrawn")

    result = _replay(svc, case_id)
    assert result.identical, result.differences
    actions = [e.action for e in _events(svc, case_id)]
    assert actions.count("timer_fired") == 2 and "message_delivered" in actions
    waiting = _moment(svc, case_id, 2)["view"]
    assert waiting["tasks"] == []
    assert waiting["next_timer_at"] == (start + timedelta(days=30)).astimezone(UTC).isoformat()
    assert {"element_id": "wait_30_days", "kind": "timer",
            "detail": (start + timedelta(days=30)).isoformat()} in waiting["waiting"]
    fired = _moment(svc, case_id, actions.index("timer_fired") + 1)
    assert fired["changes"]["opened"] == ["yearly_check"] and "wait_30_days" in fired["changes"]["completed"]


def test_each_instance_of_a_multi_instance_task_is_replayed_on_the_same_instance(svc, world, travel):
    model_set(svc, "multi")
    security = world.actor("security")
    case_id = commands.start_case(svc, security, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="multi", process_id="multi_case", model_set="test-multi").case_id
    with svc.db.reader() as session:
        from service.cases.queries import restore

        flow = restore(session, session.get(Case, case_id))
        order = [(t.task_id, t.data["member"]) for t in flow.ready_human_tasks()]
    assert [m for _t, m in order] == ["佐藤", "鈴木", "高橋"]
    for task_id, member in (order[2], order[0], order[1]):  # not in the order they were opened
        travel.advance(minutes=10)
        commands.complete_task(svc, security, task_id, {"check": {"member": member, "flag": member == "鈴木"}})
    completed = [e for e in _events(svc, case_id) if e.action == "task_completed"]
    assert [e.data["@instance"] for e in completed[:2]] == [2, 0]  # the last one was alone by then
    assert "@instance" not in completed[2].data
    case = _case(svc, case_id)
    assert (case.status, case.outcome) == ("completed", "flagged")
    result = _replay(svc, case_id)
    assert result.identical, result.differences


def test_a_failing_model_replays_to_the_same_error(svc, world, travel):
    # a set of its own: stored unvalidated, the model may be stored once per set only
    model_set(svc, "escape", set_name=f"escape-{world.tag}", validate=False)
    started = commands.start_case(svc, world.actor("security"), call_id=world.call_id,
                                  lead_institution_id=world.lead_id, title="escape", process_id="escape_case",
                                  model_set=f"escape-{world.tag}")
    commands.complete_task(svc, world.actor("security"), only_item(svc, started.case_id).task_id,
                           {"marker": "/tmp/never-written"})
    assert _case(svc, started.case_id).status == "error"
    travel.advance(hours=1)
    commands.retry_case(svc, SYSTEM, started.case_id)
    actions = [e.action for e in _events(svc, started.case_id)]
    assert actions.index("engine_error") < actions.index("case_retried")
    result = _replay(svc, started.case_id)
    assert result.identical, result.differences
    failed = _moment(svc, started.case_id, actions.index("engine_error") + 1)["view"]
    assert failed["status"] == "error" and "__import__" in failed["error_message"]
    assert _moment(svc, started.case_id, None)["view"]["status"] == _case(svc, started.case_id).status


def test_a_case_moved_to_a_new_model_version_replays_on_each_version(svc, world, travel):
    files = {p.name: p.read_bytes() for p in sorted((DATA / "models" / "loop").iterdir())}
    set_name = f"loop-migration-{world.tag}"
    with unit_of_work(svc) as session:
        store_version(session, files, set_name=set_name, status="published")
    security, fa = world.actor("security"), world.actor("fa_officer")
    case_id = commands.start_case(svc, security, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="移行", process_id="loop_case", model_set=set_name).case_id
    commands.complete_task(svc, security, only_item(svc, case_id).task_id, {"summary": "初版"})
    # version 2 stamps each round with the time scripts see (the event's moment, in a replay too)
    newer = dict(files)
    newer["loop.bpmn"] = files["loop.bpmn"].replace(
        b"<bpmn:script>rounds = rounds + 1</bpmn:script>",
        b"<bpmn:script>rounds = rounds + 1\nround_at = datetime.datetime.now().isoformat()</bpmn:script>")
    assert newer["loop.bpmn"] != files["loop.bpmn"]
    with unit_of_work(svc) as session:
        v2 = store_version(session, newer, set_name=set_name, status="published")[0].id
    travel.advance(days=1)
    migrate_case(svc, SYSTEM, case_id, v2)
    travel.advance(hours=3)
    commands.complete_task(svc, fa, only_item(svc, case_id).task_id, {"decision": "again"})
    travel.advance(hours=3)
    commands.complete_task(svc, security, only_item(svc, case_id).task_id, {"summary": "第2版"})
    events = _events(svc, case_id)
    migrated = next(e for e in events if e.action == "case_migrated")
    assert migrated.data["to_version_id"] == v2 and migrated.model_hash != events[0].model_hash
    second_round = events[-1]
    with svc.db.reader() as session:
        from service.cases.queries import restore

        stamp = restore(session, session.get(Case, case_id)).lookup("round_at")
    # scripts' now() is Japan time (service/engine/sandbox_guards.py): the instant of the completion
    assert datetime.fromisoformat(stamp) == (second_round.at + timedelta(hours=9)).replace(tzinfo=None)
    result = _replay(svc, case_id)
    assert result.identical, result.differences
    before = _moment(svc, case_id, migrated.seq - 1)["view"]
    after = _moment(svc, case_id, migrated.seq)
    assert before["model_hash"] == events[0].model_hash
    assert after["view"]["model_hash"] == migrated.model_hash and "model_hash" in after["changes"]["fields"]


def test_a_held_instant_is_seen_by_the_holding_thread_only(travel):
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    seen: list[datetime] = []
    with clock.held_at(moment):
        assert clock.now() == moment
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
    assert seen == [travel.moment] and clock.now() == travel.moment


def test_the_latest_moment_lists_exactly_the_open_work_items(svc, world, travel):
    model_set(svc, "loop")
    security = world.actor("security")
    case_id = commands.start_case(svc, security, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="途中", process_id="loop_case", model_set="test-loop").case_id
    commands.complete_task(svc, security, only_item(svc, case_id).task_id, {"summary": "初版"})
    view = _moment(svc, case_id, None)["view"]
    assert [t["element_id"] for t in view["tasks"]] == [i.element_id for i in items(svc, case_id)] == ["review"]


def test_a_replay_runs_the_live_pipeline_and_writes_nothing(svc, world, travel):
    """Replays run the live `CaseChange` with writes off: no event, work item, notification or state is written,
    however far the replayed case moved (here: through a timer and to its end)."""
    from service.models import Notification, WorkItem

    case_id = loop_case(svc, world, travel, rounds=2)

    def counts():
        with svc.db.reader() as session:
            state = session.get(CaseState, case_id)
            return (session.query(Event).count(), session.query(WorkItem).count(),
                    session.query(Notification).count(), state.state, state.updated_at)

    before = counts()
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
        assert not session.new and not session.dirty and not session.deleted
    assert result.identical, result.differences
    assert counts() == before
