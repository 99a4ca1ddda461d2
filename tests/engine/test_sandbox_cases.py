"""Sandbox payloads in a stored model (issue 14, point 5): each one puts the case into its error state with the
reason, through the service and the API, and the request answers in time (the web worker stays up)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from service import clock
from service.cases import commands
from service.designer.store import specs_for
from service.engine.runtime import CaseWorkflow
from service.engine.sandbox_guards import JST
from service.models import Case, CaseState, Event, ModelVersion
from tests.api.test_api import token_for
from tests.conftest import model_set

# Bounds on work are CPU seconds of this process (time.process_time): what a refusal or a deadline saves,
# whatever else the machine runs (a wall-clock bound would measure the machine's load too).

SET = "test-sandbox_payloads"
PROCESS = "research_security_case"  # the default process id, so the API can start it
PAYLOADS = [
    ("function", "run_function", "task data 'stored' holds a function at ['helper']"),
    ("module", "run_module", "task data 'stored' holds a module at [0]"),
    ("deep", "run_deep", "nested more than 100 levels deep"),
    ("timeout", "run_timeout", "script ran longer than"),
    ("mro", "run_mro", "attribute 'mro' is not allowed"),
    ("repeat", "run_repeat", "str(): the value is too large to walk"),
]


@pytest.fixture
def payload_version(svc) -> int:
    return model_set(svc, "sandbox_payloads")


def _start(svc, world, title: str):
    return commands.start_case(
        svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
        title=title, process_id=PROCESS, model_set=SET,
    )


def _flow(svc, case_id: int) -> CaseWorkflow:
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        spec, subprocess_specs = specs_for(session, case.model_version_id, case.process_id)
        return CaseWorkflow.restore(session.get(CaseState, case_id).state, spec, subprocess_specs)


@pytest.mark.parametrize(("title", "element_id", "reason"), PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_each_payload_puts_the_case_in_error_with_the_reason(svc, world, payload_version, title, element_id,
                                                              reason):
    started = time.process_time()
    outcome = _start(svc, world, title)
    assert time.process_time() - started < svc.settings.script_time_limit + 5
    assert outcome.status == "error" and reason in outcome.error
    with svc.db.reader() as session:
        case = session.get(Case, outcome.case_id)
        assert case.status == "error"
        assert case.error_message.startswith(f"{element_id}: ") and reason in case.error_message
        (error,) = session.query(Event).filter_by(case_id=case.id, action="engine_error").all()
        assert error.element_id == element_id and reason in error.data["message"]
    # the saved state is data and restores: the next request on the case works
    assert "stored" not in _flow(svc, outcome.case_id).current_data()


@pytest.mark.parametrize("title", ["function", "deep", "timeout"])
def test_through_the_api_the_case_answers_with_its_error(svc, world, client, monkeypatch, payload_version, title):
    # the API starts cases on the newest published default model: make that this test's model
    def latest(session, set_name="default"):
        return session.get(ModelVersion, payload_version)

    monkeypatch.setattr(commands, "latest_published", latest)
    headers = token_for(client, world.username("security"))
    started = time.process_time()
    response = client.post("/api/v1/cases", headers=headers, json={
        "call_id": world.call_id, "lead_institution_id": world.lead_id, "title": title,
    })
    assert time.process_time() - started < svc.settings.script_time_limit + 5
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "error" and f"run_{title}" in body["error"]
    shown = client.get(f"/api/v1/cases/{body['case_id']}", headers=headers)
    assert shown.status_code == 200
    assert shown.get_json()["status"] == "error" and shown.get_json()["error_message"] == body["error"]


def test_scripts_see_tejuns_clock_not_the_real_one(svc, world, payload_version, travel):
    travel.advance(days=2000)  # years away from the real date
    outcome = _start(svc, world, "clock")
    assert outcome.status == "running"
    seen = _flow(svc, outcome.case_id).lookup("stored")
    assert seen == clock.now().astimezone(JST).date().isoformat()
    assert seen != (clock.now() - timedelta(days=2000)).astimezone(JST).date().isoformat()
