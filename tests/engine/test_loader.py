"""Loading model sets: hardened XML, every SpiffWorkflow failure turned into a Problem, specs and user tasks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from service.engine.loader import ModelError, Problem, load_model
from service.engine.safe_xml import XmlProblem, parse_xml
from service.engine.sandbox import SandboxedScriptEngine

# Bounds on work are CPU seconds of this process (time.process_time): what a refusal or a deadline saves,
# whatever else the machine runs (a wall-clock bound would measure the machine's load too).

DATA = Path(__file__).resolve().parents[1] / "data" / "bpmn"
SAMPLE = DATA / "sample_set"


def _sample_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}


def _process(body: str, process_id: str = "p", extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_{process_id}" targetNamespace="http://tejun.example/test">
  {extra}
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="{process_id}_start"><bpmn:outgoing>{process_id}_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="{process_id}_f1" sourceRef="{process_id}_start" targetRef="{process_id}_x" />
    {body}
    <bpmn:sequenceFlow id="{process_id}_f2" sourceRef="{process_id}_x" targetRef="{process_id}_end" />
    <bpmn:endEvent id="{process_id}_end"><bpmn:incoming>{process_id}_f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _task(tag: str, process_id: str = "p", attrs: str = "", inner: str = "") -> str:
    return (f'<bpmn:{tag} id="{process_id}_x" {attrs}>{inner}<bpmn:incoming>{process_id}_f1</bpmn:incoming>'
            f"<bpmn:outgoing>{process_id}_f2</bpmn:outgoing></bpmn:{tag}>")


# -- safe XML ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'<?xml version="1.0"?>\n<!DOCTYPE x [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n<x>&x;</x>',
         "DOCTYPE declares entity 'x' at line 3"),
        (b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
         b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>', "entity declarations are not allowed"),
        (b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.com/x.dtd"> %p;]><x/>', "DOCTYPE declares entity 'p'"),
        (b'<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>', "refers to an external DTD"),
        ('<?xml version="1.0" encoding="Shift_JIS"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]><x>日本&x;'
         "</x>".encode("shift_jis"), "DOCTYPE declares entity 'x'"),
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY x "y">]><x>&x;</x>'.encode("utf-16"),
         "DOCTYPE declares entity 'x'"),
        (b"<a>\n<b>\n</a>", "not well-formed XML at line 3: Opening and ending tag mismatch"),
        (b"<x>&undefined;</x>", "Entity 'undefined' not defined"),
        (b"   ", "file is empty"),
        (b"<a>" * 10_000 + b"</a>" * 10_000, "Excessive depth"),
        (b"<a>" + b"x" * 6_000_000 + b"</a>", "file is too large (6,000,007 bytes; the limit is 5,000,000)"),
    ],
)
def test_hostile_or_broken_xml_is_refused_with_one_clear_line(content, expected):
    started = time.process_time()
    with pytest.raises(XmlProblem) as caught:
        parse_xml(content, filename="upload.bpmn")
    assert time.process_time() - started < 1
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.filename == "upload.bpmn"


def test_ordinary_xml_in_any_encoding_parses():
    assert parse_xml(b"<!DOCTYPE x><x/>", filename="a").tag == "x"
    for encoding in ("Shift_JIS", "UTF-16", "EUC-JP"):
        content = f'<?xml version="1.0" encoding="{encoding}"?><x>日本</x>'.encode(encoding)
        assert parse_xml(content, filename="a").text == "日本"
    with pytest.raises(XmlProblem, match="line 2"):
        parse_xml(b"<x>\n</y>", filename="a")
    assert parse_xml(b"<x/>", filename="a", max_bytes=4).tag == "x"
    with pytest.raises(XmlProblem, match="too large"):
        parse_xml(b"<x/>", filename="a", max_bytes=3)


# -- the model -------------------------------------------------------------------------------------------


def test_a_model_set_loads_with_specs_and_user_tasks():
    model = load_model(_sample_files())
    assert model.problems == []
    assert sorted(model.process_ids) == ["sample_case", "sample_review"]
    spec, subprocesses = model.specs_for("sample_case")
    assert spec.name == "sample_case"
    assert sorted(subprocesses) == ["follow_up", "sample_review"]
    assert model.specs_for("sample_case")[0] is spec  # built once, shared
    tasks = {t.element_id: t for t in model.user_tasks()}
    assert sorted(tasks) == ["approve", "check", "disclose", "partner_check"]
    assert tasks["disclose"].lane == "researcher" and tasks["disclose"].file == "case.bpmn"
    assert tasks["disclose"].properties["formJsonSchemaFilename"] == "disclosure.schema.json"
    assert tasks["check"].lane == "security_officer" and tasks["check"].process_id == "follow_up"
    assert tasks["partner_check"].lane == "security_officer@partner"
    assert tasks["approve"].lane == "fa_officer" and tasks["approve"].process_id == "sample_review"
    # and the specs run, with the sandbox
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=SandboxedScriptEngine())
    workflow.do_engine_steps()
    (ready,) = workflow.get_tasks(manual=True, state=TaskState.READY)
    assert ready.task_spec.bpmn_id == "disclose"


def test_unknown_process_ids_are_model_errors():
    model = load_model(_sample_files())
    with pytest.raises(ModelError) as caught:
        model.specs_for("nope")
    assert "no executable process with this id" in str(caught.value)


def test_strict_loading_lists_every_problem():
    files = _sample_files()
    files["broken.bpmn"] = b"<bpmn:definitions"
    files["other.dmn"] = b"<x/>"
    with pytest.raises(ModelError) as caught:
        load_model(files)
    problems = caught.value.problems
    assert [p.file for p in problems] == ["broken.bpmn", "other.dmn"]
    assert str(problems[1]) == "other.dmn:-: not a DMN file (root element is x)"
    assert str(caught.value).splitlines() == [str(p) for p in problems]


def test_a_missing_called_process_names_the_call_activity_and_spares_the_others():
    files = {
        "main.bpmn": _process(_task("callActivity", "main", 'calledElement="missing_sub"'), "main"),
        "ok.bpmn": _process(_task("task", "ok"), "ok"),
    }
    model = load_model(files, strict=False)
    missing = Problem("main.bpmn", "main_x", "calls process 'missing_sub', which is not in the model set")
    assert model.problems == [missing]
    assert model.specs_for("ok")[0].name == "ok"
    with pytest.raises(ModelError) as caught:
        model.specs_for("main")
    assert caught.value.problems == model.problems


def test_a_broken_process_is_never_handed_out_half_built():
    files = {
        "broken.bpmn": _process(_task("serviceTask", "broken"), "broken"),  # no operator: parser refuses
        "caller.bpmn": _process(_task("callActivity", "caller", 'calledElement="broken"'), "caller"),
    }
    model = load_model(files, strict=False)
    assert Problem("broken.bpmn", "broken_x", "A Service Task must have an operator") in model.problems
    for process_id in ("broken", "caller"):
        with pytest.raises(ModelError):
            model.specs_for(process_id)


def test_an_unresolved_message_ref_is_explained_not_a_type_error():
    body = ('<bpmn:intermediateCatchEvent id="p_x"><bpmn:incoming>p_f1</bpmn:incoming><bpmn:outgoing>p_f2'
            '</bpmn:outgoing><bpmn:messageEventDefinition id="p_md" messageRef="nope" /></bpmn:intermediateCatchEvent>')
    model = load_model({"m.bpmn": _process(body)}, strict=False)
    message = "messageRef 'nope' does not match any bpmn:message in the model set"
    assert model.problems == [Problem("m.bpmn", "p_x", message)]


def test_business_rule_tasks_must_find_their_decision():
    camunda = _task("businessRuleTask", attrs='camunda:decisionRef="d" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
    model = load_model({"m.bpmn": _process(camunda)}, strict=False)
    assert model.problems == [
        Problem("m.bpmn", "p_x", "business rule task names no decision (spiffworkflow:calledDecisionId)")]
    spiff = _task("businessRuleTask", inner="<bpmn:extensionElements><spiffworkflow:calledDecisionId>nope"
                                            "</spiffworkflow:calledDecisionId></bpmn:extensionElements>")
    model = load_model({"m.bpmn": _process(spiff)}, strict=False)
    assert model.problems == [Problem("m.bpmn", "p_x", "calls decision 'nope', which is not in the model set")]


def test_duplicate_ids_are_reported():
    files = {"a.bpmn": _process(_task("task")), "b.bpmn": _process(_task("task"))}
    problems = load_model(files, strict=False).problems
    assert [(p.file, p.element_id) for p in problems] == [("b.bpmn", "p")]
    assert "Duplicate process ID" in problems[0].message
    dmn = (DATA / "risk_level.dmn").read_bytes()
    problems = load_model({"a.dmn": dmn, "b.dmn": dmn}, strict=False).problems
    assert problems == [Problem("b.dmn", "risk_level", "decision id 'risk_level' is also defined in a.dmn")]


def test_schema_errors_point_at_the_element_and_line():
    content = _process(_task("task", attrs='bogus:attr="1" xmlns:bogus="urn:x"', inner="<bpmn:notAThing/>"))
    (problem,) = load_model({"m.bpmn": content}, strict=False).problems
    assert problem.element_id == "p_x"
    assert "bpmn:notAThing" in problem.message and "(line " in problem.message


def test_dmn_problems_name_the_cell():
    dmn = (DATA / "risk_level.dmn").read_text().replace('<text>"high"</text>', "<text>(unclosed</text>")
    (problem,) = load_model({"r.dmn": dmn.encode()}, strict=False).problems
    assert problem.file == "r.dmn" and problem.element_id == "rule_high_out"
    assert "Malformed Output Expression" in problem.message
