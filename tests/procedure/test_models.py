"""The shipped procedure (bpmn/, forms/) passes the designer's checks, file by file, and keeps the modelling
conventions of docs/modeling.md: every user task has a usable form and a lane that routes to a case role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.auth.roles import LaneError, parse_lane
from service.designer.store import read_model_dirs
from service.designer.validation import PRIORITIES, STAGES, validate_paths
from service.engine.loader import load_model
from service.forms.schema import check_schema

ROOT = Path(__file__).resolve().parents[2]
BPMN, FORMS = ROOT / "bpmn", ROOT / "forms"
MODEL_FILES = sorted([*BPMN.glob("*.bpmn"), *BPMN.glob("*.dmn")])
ENTRY_PROCESSES = ("research_security_case", "program_designation")


@pytest.fixture(scope="module")
def model():
    return load_model(read_model_dirs(BPMN, FORMS))


@pytest.fixture(scope="module")
def user_tasks(model):
    for process_id in ENTRY_PROCESSES:
        model.specs_for(process_id)
    return model.user_tasks()


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_every_model_file_validates_with_no_problem(path):
    assert validate_paths([str(path)]) == []


def test_the_procedure_has_its_processes_and_user_tasks(model, user_tasks):
    assert len(MODEL_FILES) == 15
    assert set(ENTRY_PROCESSES) <= set(model.process_ids)
    assert len(user_tasks) == 34
    # both entry processes build with every process they call
    _spec, called = model.specs_for("research_security_case")
    assert {"institution_risk_management", "risk_identification", "member_disclosure", "partner_due_diligence",
            "risk_assessment", "assess_risk_subject", "risk_mitigation", "fa_review", "additional_risk_management",
            "follow_up"} <= set(called)


def test_every_user_task_names_a_valid_form_and_a_lane_of_a_known_role(user_tasks):
    problems = []
    for task in user_tasks:
        where = f"{task.process_id}:{task.element_id}"
        try:
            role, scope = parse_lane(task.lane)
        except LaneError as exc:
            problems.append(f"{where}: {exc}")
        else:
            if scope not in ("fa", "lead", "partner", "ministry"):
                problems.append(f"{where}: lane scope @{scope} is not one the procedure sets")
            if role in ("fa_officer", "fa_manager") and scope != "fa":
                problems.append(f"{where}: FA roles work in the funding agency")
        schema_name = task.properties.get("formJsonSchemaFilename")
        ui_name = task.properties.get("formUiSchemaFilename")
        if not schema_name or not (FORMS / schema_name).is_file():
            problems.append(f"{where}: form {schema_name!r} is not in forms/")
        else:
            schema = json.loads((FORMS / schema_name).read_text(encoding="utf-8"))
            problems += [f"{where}: {schema_name}{p}" for p in check_schema(schema)]
            if "$schema" not in schema:
                problems.append(f"{where}: {schema_name} has no $schema")
            # one root key per form: a resubmission replaces it whole (docs/procedure.md §4)
            if len(schema.get("properties") or {}) != 1 or schema.get("required") != list(schema["properties"]):
                problems.append(f"{where}: {schema_name} should have exactly one required root key")
        if not ui_name or not isinstance(json.loads((FORMS / ui_name).read_text(encoding="utf-8")), dict):
            problems.append(f"{where}: UI schema {ui_name!r} missing or not an object")
        if task.properties.get("stage") not in STAGES | {None}:
            problems.append(f"{where}: unknown stage {task.properties['stage']!r}")
        if (task.properties.get("priority") or "normal") not in PRIORITIES:
            problems.append(f"{where}: unknown priority {task.properties['priority']!r}")
    assert problems == []


def test_every_form_in_forms_belongs_to_a_user_task(user_tasks):
    used = {t.properties.get("formJsonSchemaFilename") for t in user_tasks}
    used |= {t.properties.get("formUiSchemaFilename") for t in user_tasks}
    used |= {t.properties.get("contextFilename") for t in user_tasks}  # the context shown beside the form
    assert sorted(p.name for p in FORMS.glob("*.json") if p.name not in used) == []


PROTECTED_ATTRIBUTES = ("nationality", "citizenship", "race", "religion", "ethnic", "国籍", "人種", "宗教")


@pytest.mark.parametrize("path", sorted(BPMN.glob("*.dmn")), ids=lambda p: p.name)
def test_no_decision_table_takes_a_protected_attribute_as_input(path):
    """domain.md: nationality, race, religion or cultural background is never a rule input."""
    import xml.etree.ElementTree as ET

    ns = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    inputs = ET.parse(path).getroot().findall(".//dmn:input", ns)
    assert inputs, f"{path.name}: no decision inputs found (namespace changed?)"
    for element in inputs:
        text = " ".join(
            [element.get("label", "")] + [t.text or "" for t in element.findall(".//dmn:text", ns)]
        ).lower()
        assert not any(word in text for word in PROTECTED_ATTRIBUTES), f"{path.name}: {text}"
