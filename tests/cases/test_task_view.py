"""One read path for a task view (issue 15, point 3): localized once, read without restoring the workflow, from
bounded per-version caches."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import model_cache
from service.cases.queries import restore
from service.designer.store import specs_for
from service.engine.runtime import CaseWorkflow, TaskNotReady
from service.models import CaseState, TechnologyArea, TechnologyAreaList
from tests.procedure.drive import Driver
from tests.web.helpers import bearer


def _area_labels(svc) -> dict[str, list[str]]:
    with svc.db.reader() as session:
        rows = session.execute(
            select(TechnologyArea.name_ja, TechnologyArea.name_en).join(TechnologyAreaList)
            .where(TechnologyAreaList.is_current.is_(True)).order_by(TechnologyArea.position)
        ).all()
    return {"ja": [ja for ja, _ in rows], "en": [en for _, en in rows]}


def _reference_titles(schema: dict) -> list[str]:
    """The titles of the roster's technology-area choices, wherever the form nests them."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "array" and isinstance(node.get("items"), dict) and "oneOf" in node["items"]:
                found.extend(choice["title"] for choice in node["items"]["oneOf"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_the_api_names_reference_entries_in_the_language_asked_for(client, svc, world):
    labels = _area_labels(svc)
    assert labels["en"] and labels["en"] != labels["ja"]
    d = Driver(svc, world)
    case_id = d.start()
    roster = d.items(case_id)[0]  # the team roster (its form lists the technology areas)
    assert roster.form == "team_roster.schema.json"
    headers = bearer(client, world, "security")
    shown = {lang: client.get(f"/api/v1/tasks/{roster.task_id}?lang={lang}", headers=headers).get_json()
             for lang in ("ja", "en")}
    assert _reference_titles(shown["en"]["form_schema"]) == labels["en"]  # was Japanese for lang=en
    assert _reference_titles(shown["ja"]["form_schema"]) == labels["ja"]
    # the form's own texts follow the language too
    assert shown["en"]["form_schema"]["title"] != shown["ja"]["form_schema"]["title"]


def test_a_task_is_read_from_the_stored_state_as_a_restored_workflow_shows_it(svc, world):
    """Every ready task along the start of the real procedure (sub-processes and parallel disclosures
    included): the data, properties and instructions read from the stored state are the restored ones."""
    d = Driver(svc, world)
    case_id = d.start()
    d.roster(case_id)
    d.disclosures(case_id)
    with svc.db.reader() as session:
        case = d.case(case_id)
        flow = restore(session, case)
        blob = session.get(CaseState, case_id).state
        spec, subprocess_specs = specs_for(session, case.model_version_id, case.process_id)
    ready = flow.ready_human_tasks()
    assert len(ready) >= 2 and any(t.process_id != case.process_id for t in ready)
    for task in ready:
        peeked = CaseWorkflow.peek_ready_task(blob, spec, subprocess_specs, task.task_id)
        assert (peeked.element_id, peeked.process_id, peeked.properties, peeked.instructions) == \
               (task.element_id, task.process_id, task.properties, task.instructions)
        assert peeked.data == task.data
    done = [t for t in flow.wf.get_tasks() if t.task_spec.manual and not t.has_state(16)]  # 16: READY
    for task_id in [str(t.id) for t in done[:3]] + ["00000000-0000-0000-0000-000000000000", "not-a-task"]:
        with pytest.raises(TaskNotReady):
            CaseWorkflow.peek_ready_task(blob, spec, subprocess_specs, task_id)


def test_per_version_caches_are_bounded_and_keep_the_most_recently_used():
    cache = model_cache.ModelCache("test", maxsize=3)
    loads = []
    for key in range(10):
        cache.get(key, lambda key=key: loads.append(key) or f"v{key}")
        cache.get(7, lambda: loads.append("again") or "v7")  # keep 7 in use
    assert len(cache) == 3 and 7 in cache and 9 in cache and 0 not in cache
    assert cache.get(0, lambda: "reloaded") == "reloaded"  # an evicted entry is loaded again
    # every per-version cache of the service is one of these, bounded, and `forget` empties them all
    names = set(model_cache.caches())
    assert {"specs", "files", "hashes", "forms", "history_maps", "expanded_forms", "shown_forms"} <= names
    assert all(0 < c.maxsize <= 1024 for c in model_cache.caches().values())
