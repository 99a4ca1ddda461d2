"""What the engine writes to the log: by default nothing per task (SpiffWorkflow logs every state change at
INFO, a dozen lines per completed task, which floods a production log and costs time on the hot path);
`TEJUN_ENGINE_LOG_LEVEL=INFO` brings those lines back for someone debugging a diagram."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import select

from service.app import create_app
from service.cases import commands
from service.models import WorkItem
from tests.conftest import model_set


def _complete_one(svc, world) -> None:
    actor = world.actor("security")
    case_id = commands.start_case(svc, actor, call_id=world.call_id, lead_institution_id=world.lead_id,
                                  title="log", process_id="loop_case", model_set="test-loop").case_id
    with svc.db.reader() as session:
        task_id = session.scalar(select(WorkItem.task_id).where(WorkItem.case_id == case_id))
    commands.complete_task(svc, actor, task_id, {"summary": "入退室管理"})


def _engine_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("spiff")]


def test_engine_state_changes_stay_out_of_the_log_unless_asked_for(settings, svc, world, caplog):
    model_set(svc, "loop")
    engine = logging.getLogger("spiff")
    level = engine.level
    try:
        create_app(settings)
        caplog.clear()
        _complete_one(svc, world)
        assert _engine_lines(caplog) == []

        create_app(replace(settings, engine_log_level="INFO"))
        caplog.clear()
        _complete_one(svc, world)
        assert any("State changed" in line for line in _engine_lines(caplog))
    finally:
        engine.setLevel(level)
