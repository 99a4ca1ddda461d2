"""Publishing model versions and moving running cases between them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.cases import commands, migration
from service.designer import versions
from service.designer.store import latest_published
from service.errors import Conflict, Forbidden
from service.models import Case, Event, MigrationJob, WorkItem
from service.unit_of_work import unit_of_work
from tests.conftest import DATA

MODELS = DATA / "models"


def _files(folder: str = "loop") -> dict[str, bytes]:
    """v1 is `loop`; `loop_v2` adds a confirm step and a review-form field; `loop_v3` drops the review."""
    return {p.name: p.read_bytes() for p in (MODELS / folder).iterdir()}


@pytest.fixture
def model_line(svc, world):
    """A model set of its own with v1 published; returns (set name, v1 id, designer actor)."""
    designer = world.actor("designer")
    set_name = f"mig-{world.tag}"
    v1, _ = versions.upload_draft(svc, designer, _files(), "first", set_name=set_name)
    versions.publish(svc, designer, v1)
    return set_name, v1, designer


def _start(svc, world, set_name, n=1):
    return [
        commands.start_case(svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
                            title=f"case {i}", process_id="loop_case", model_set=set_name).case_id
        for i in range(n)
    ]


def _complete(svc, world, case_id, who, data):
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    commands.complete_task(svc, world.actor(who), item.task_id, data)


def _items(svc, case_id):
    with svc.db.reader() as session:
        return [i.element_id for i in session.scalars(select(WorkItem).where(WorkItem.case_id == case_id))]


def test_only_designers_change_models(svc, world):
    with pytest.raises(Forbidden):
        versions.upload_draft(svc, world.actor("fa_manager"), _files(), "no", set_name=f"x-{world.tag}")


def test_new_cases_follow_the_new_version_and_old_cases_stay(svc, world, model_line):
    set_name, v1, designer = model_line
    (old_case,) = _start(svc, world, set_name)
    v2, created = versions.upload_draft(svc, designer, _files("loop_v2"), "confirm step", set_name=set_name)
    assert created
    # a draft changes nothing yet
    (draft_case,) = _start(svc, world, set_name)
    versions.publish(svc, designer, v2)
    (new_case,) = _start(svc, world, set_name)
    with svc.db.reader() as session:
        assert latest_published(session, set_name).id == v2
        assert [session.get(Case, c).model_version_id for c in (old_case, draft_case, new_case)] == [v1, v1, v2]
        diff = versions.diff_versions(session, v1, v2)
    assert diff["files"]["changed"] == ["loop.bpmn", "review.schema.json"]
    assert "confirm" in diff["processes"]["loop_case"]["added"]
    for case_id in (old_case, new_case):
        _complete(svc, world, case_id, "security", {"summary": "s"})
    assert _items(svc, old_case) == ["review"]
    assert _items(svc, new_case) == ["confirm"]


def test_preview_predicts_and_migration_follows(svc, world, model_line):
    set_name, v1, designer = model_line
    at_edit, at_review = _start(svc, world, set_name, 2)
    _complete(svc, world, at_review, "security", {"summary": "s"})
    v3, _ = versions.upload_draft(svc, designer, _files("loop_v3"), "no review", set_name=set_name)
    previews = {p["case_id"]: p for p in migration.preview(svc, designer, [at_edit, at_review], v3)}
    assert previews[at_edit]["can_migrate"] is True
    assert previews[at_review]["can_migrate"] is False
    assert "'review' is ready but was removed" in previews[at_review]["reasons"][0]
    assert "review" in previews[at_edit]["removed"]
    with pytest.raises(Conflict, match="removed"):
        migration.migrate_case(svc, designer, at_review, v3)
    migration.migrate_case(svc, designer, at_edit, v3)
    with svc.db.reader() as session:
        assert session.get(Case, at_edit).model_version_id == v3
        assert session.get(Case, at_review).model_version_id == v1
        event = session.scalars(select(Event).where(Event.case_id == at_edit, Event.action == "case_migrated")).one()
        assert (event.data["from_version_id"], event.data["to_version_id"]) == (v1, v3)
    # the migrated case now ends after editing, as v3 says
    _complete(svc, world, at_edit, "security", {"summary": "done"})
    with svc.db.reader() as session:
        assert session.get(Case, at_edit).status == "completed"


def test_a_claimed_task_stays_with_its_holder_across_migration(svc, world, model_line):
    set_name, _v1, designer = model_line
    (case_id,) = _start(svc, world, set_name)
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    commands.claim_task(svc, world.actor("security2"), item.task_id)
    v2, _ = versions.upload_draft(svc, designer, _files("loop_v2"), "v2", set_name=set_name)
    migration.migrate_case(svc, designer, case_id, v2)
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
        assert item.assignee_id == world.users["security2"]


def test_cases_migrate_in_bulk_batch_by_batch_as_the_preview_predicted(svc, world, model_line):
    # 40 cases in four batches of 10, as the worker takes them; how fast a bulk migration goes is measured by
    # bench/migration_bench.py
    set_name, v1, designer = model_line
    cases = _start(svc, world, set_name, 40)
    at_review = set(cases[::4])  # every fourth case has moved on to the FA review
    for case_id in at_review:
        _complete(svc, world, case_id, "security", {"summary": "s"})
    v3, _ = versions.upload_draft(svc, designer, _files("loop_v3"), "no review", set_name=set_name)
    job_id = migration.request_bulk(svc, designer, cases, v3)
    with svc.db.reader() as session:
        job = session.get(MigrationJob, job_id)
        assert job.status == "queued" and sum(job.predicted.values()) == 30
    batches = []
    while True:  # the worker's loop, a batch at a time, as in production
        batches.append(migration.run_jobs(svc, limit_cases=10))
        with svc.db.reader() as session:
            progress = migration.job_progress(session, job_id)
        if progress["status"] == "done":
            break
        assert batches[-1] > 0
    assert batches == [10, 10, 10, 10]
    assert progress["counts"] == {"migrated": 30, "refused": 10}
    for case_id, predicted in progress["predicted"].items():
        expected = "migrated" if predicted else "refused"
        assert progress["results"][case_id]["result"] == expected
    with svc.db.reader() as session:
        on_v3 = {c.id for c in session.scalars(select(Case).where(Case.id.in_(cases), Case.model_version_id == v3))}
    assert on_v3 == set(cases) - at_review


def test_an_interrupted_bulk_migration_resumes(svc, world, model_line):
    set_name, _v1, designer = model_line
    cases = _start(svc, world, set_name, 6)
    v2, _ = versions.upload_draft(svc, designer, _files("loop_v2"), "v2", set_name=set_name)
    job_id = migration.request_bulk(svc, designer, cases, v2)
    assert migration.run_jobs(svc, limit_cases=2) == 2  # the worker stops after two cases
    with unit_of_work(svc) as session:
        assert migration.job_progress(session, job_id)["done"] == 2
    migration.run_jobs(svc)
    with svc.db.reader() as session:
        progress = migration.job_progress(session, job_id)
        assert (progress["status"], progress["counts"]) == ("done", {"migrated": 6})
        migrated = session.scalars(
            select(Event.case_id).where(Event.case_id.in_(cases), Event.action == "case_migrated")
        ).all()
        assert sorted(migrated) == sorted(cases)  # each exactly once


def test_a_set_without_any_process_is_not_a_version(svc, world):
    from service.engine.loader import ModelError

    forms_only = {"review.schema.json": (MODELS / "loop" / "review.schema.json").read_bytes()}
    with pytest.raises(ModelError) as refused:
        versions.upload_draft(svc, world.actor("designer"), forms_only, "forms only", set_name=f"f-{world.tag}")
    assert [str(p) for p in refused.value.problems] == ["-:-: the model set holds no executable BPMN process"]
