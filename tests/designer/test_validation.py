"""Model validation and `models validate`: conventions, hostile files, and every file of the public corpora."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from service.cli.models_cli import models_cli
from service.designer.validation import validate_model_files, validate_paths
from service.engine.loader import Problem
from tests.corpora import CORPORA

# Bounds on work are CPU seconds of this process (time.process_time): what a refusal or a deadline saves,
# whatever else the machine runs (a wall-clock bound would measure the machine's load too).

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "bpmn" / "sample_set"
CORPUS_FILES = sorted(
    p for p in CORPORA.rglob("*")
    if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json") and not p.name.startswith("_")
)
MIWG = json.loads((CORPORA / "miwg" / "_manifest.json").read_text())["files"]
# problems a model that SpiffWorkflow parses can still have: it was not written for tejun's conventions
CONVENTION = re.compile(
    r"user task has no form|user task is not in a lane|lane name '.*' is not a known role|lane has no name"
    r"|formJsonSchemaFilename|formUiSchemaFilename"
)


def _well_formed(problem: Problem) -> None:
    line = str(problem)
    assert line == f"{problem.file}:{problem.element_id or '-'}: {problem.message}"
    assert "\n" not in line and "Traceback" not in line and problem.message.strip()
    assert problem.element_id is None or re.fullmatch(r"[^\s:]+", problem.element_id), line


# -- the public corpora ----------------------------------------------------------------------------------


def test_the_corpora_are_there():
    assert len(CORPUS_FILES) > 200


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_every_corpus_file_validates_quickly_with_well_formed_problems(path):
    started = time.process_time()
    problems = validate_paths([str(path)])
    assert time.process_time() - started < 5
    for problem in problems:
        _well_formed(problem)
        assert Path(problem.file).is_file(), problem  # the file itself or a sibling it depends on
    if path.suffix == ".json":
        assert problems == []  # JSON that parses, and none of them is a *.schema.json


@pytest.mark.parametrize("name", sorted(n for n in MIWG if n.endswith(".bpmn")))
def test_miwg_models_fail_exactly_where_the_manifest_says(name):
    entry = MIWG[name]
    result = entry["parse_spiffworkflow_3_2_0"]["spiff"]
    problems = [p for p in validate_paths([str(CORPORA / "miwg" / name)]) if p.file.endswith(name)]
    if result.startswith("ok") and entry["executable_process_count"]:
        # parses: only tejun's own conventions may be missing (forms, lanes)
        assert problems and all(CONVENTION.search(p.message) for p in problems), problems
    elif result.startswith("ok"):
        assert [p.message for p in problems] == ['no executable process (mark the process isExecutable="true")']
    else:
        expected = re.sub(r"^(LOAD )?ValidationException: ", "", result).split(" <Element")[0].split(" [")[0]
        expected = expected.strip().rstrip(".")[:30]
        matching = [p for p in problems if p.message.startswith(expected)]
        assert matching, (expected, problems)
        assert all(p.element_id for p in matching), matching


# -- a model set that follows the conventions ------------------------------------------------------------


def test_a_conventional_model_set_has_no_problems():
    assert validate_paths([str(SAMPLE / "bpmn" / "case.bpmn")]) == []
    assert validate_paths([str(p) for p in sorted(SAMPLE.rglob("*")) if p.is_file()]) == []
    flat = {p.name: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    assert validate_model_files(flat) == []
    nested = {str(p.relative_to(SAMPLE)): p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    assert validate_model_files(nested) == []


def test_paths_are_reported_as_given(monkeypatch):
    monkeypatch.chdir(SAMPLE / "bpmn")
    assert validate_paths(["case.bpmn"]) == []
    problems = validate_paths(["case.bpmn", "nope.bpmn", "../forms", "notes.txt"])
    assert [str(p) for p in problems] == [
        "nope.bpmn:-: no such file",
        "../forms:-: is a directory; name the .bpmn, .dmn or .json files to validate",
        "notes.txt:-: no such file",
    ]


def _set_with(**changes: str) -> dict[str, bytes]:
    """The sample set as flat files, with text replaced in case.bpmn."""
    files = {p.name: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    case = files["case.bpmn"].decode()
    for old, new in changes.values():
        assert old in case
        case = case.replace(old, new)
    files["case.bpmn"] = case.encode()
    return files


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('name="researcher"', 'name="janitor"'), "case.bpmn:lane_researcher: lane name 'janitor' is not a known role"),
        (('name="researcher"', 'name="researcher@partner"'), None),
        (('name="researcher"', 'name="Researcher"'), "case.bpmn:lane_researcher: lane name 'Researcher'"),
        (('name="researcher"', 'name="researcher@"'), "case.bpmn:lane_researcher: lane name 'researcher@'"),
        (("<bpmn:flowNodeRef>disclose</bpmn:flowNodeRef>", ""),
         "case.bpmn:disclose: user task is not in a lane"),
        (('value="disclosure.schema.json"', 'value="missing.schema.json"'),
         "case.bpmn:disclose: formJsonSchemaFilename 'missing.schema.json' names a file that is not in the model set"),
        (('value="disclosure.uischema.json"', 'value="gone.uischema.json"'),
         "case.bpmn:disclose: formUiSchemaFilename 'gone.uischema.json' names a file"),
        (('value="disclosure.schema.json"', 'value="../../etc/passwd"'), "must be a plain file name"),
        (('<spiffworkflow:property name="formJsonSchemaFilename" value="disclosure.schema.json" />', ""),
         "case.bpmn:disclose: user task has no form (spiffworkflow property formJsonSchemaFilename)"),
        (('value="identification"', 'value="lunch"'), "case.bpmn:disclose: stage 'lunch' is not a stage code"),
        (('value="high"', 'value="asap"'), "case.bpmn:disclose: priority 'asap' is not one of"),
        (('risk == "high"', "risk = 'high'"), "case.bpmn:f_high: condition: line 1: syntax error"),
        (('risk == "high"', "risk.__class__"),
         "case.bpmn:f_high: condition: line 1: attribute '__class__' is not allowed"),
        (('foreign_count = len(', "foreign_count = __import__('os') and len("),
         "case.bpmn:disclose: postScript: line 1: name '__import__' is not allowed"),
        (('value="call[&quot;risk_deadline&quot;]"', 'value="open(1)"'),
         "case.bpmn:disclose: dueDate expression: line 1: name 'open' is not allowed"),
        (('calledElement="sample_review"', 'calledElement="nowhere"'),
         "case.bpmn:review: calls process 'nowhere', which is not in the model set"),
        (("<spiffworkflow:calledDecisionId>sample_risk", "<spiffworkflow:calledDecisionId>no_such_table"),
         "case.bpmn:assess: calls decision 'no_such_table', which is not in the model set"),
        (("<bpmn:flowNodeRef>partner_check</bpmn:flowNodeRef>", ""), "case.bpmn:partner_check: user task is not"),
    ],
)
def test_convention_breaches_are_reported_on_the_element(change, expected):
    problems = validate_model_files(_set_with(change=change))
    for problem in problems:
        _well_formed(problem)
    if expected is None:
        assert problems == []
    else:
        assert any(str(p).startswith(expected) or expected in str(p) for p in problems), problems


def test_a_task_lane_hidden_by_its_sub_process_lane_is_reported():
    files = _set_with(change=("<bpmn:flowNodeRef>partner_check</bpmn:flowNodeRef>",
                              "<bpmn:flowNodeRef>partner_check</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>"))
    (problem,) = validate_model_files(files)
    assert problem.element_id == "check"
    assert "'security_officer@partner' is ignored" in problem.message


def test_forms_and_json_files_are_checked():
    files = {p.name: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    files["check.schema.json"] = b'{"type": "object", "properties": {"ok": {"type": "bool"}}}'
    files["disclosure.uischema.json"] = b"[1, 2]"
    files["approve.schema.json"] = b'{"type": "object",\n "required": ["a"],,}'
    files["spare.schema.json"] = b'{"properties": {"a": {"x-reference": "colours"}}}'
    files["readme.txt"] = b"hello"
    problems = {str(p) for p in validate_model_files(files)}
    json_problem = "not valid JSON at line 2, column 20: Expecting property name enclosed in double quotes"
    assert f"approve.schema.json:-: {json_problem}" in problems
    assert any(p.startswith("check.schema.json:-: form schema /properties/ok/type: ") for p in problems)
    assert any(p.startswith("case.bpmn:disclose: formUiSchemaFilename 'disclosure.uischema.json' is not a JSON object")
               for p in problems)
    assert "disclosure.uischema.json:-: UI schema must be a JSON object" in problems
    reference = "form schema /properties/a/x-reference: unknown reference list 'colours'"
    assert any(p.startswith(f"spare.schema.json:-: {reference}") for p in problems)
    assert "readme.txt:-: unsupported file type (expected .bpmn, .dmn or .json)" in problems


def test_dmn_cells_compile_in_the_sandbox():
    dmn = (SAMPLE / "bpmn" / "sample_risk.dmn").read_text()
    files = {"r.dmn": dmn.replace("&gt; 0", "__import__('os')").replace('"low"', "open('x')").encode()}
    problems = {str(p) for p in validate_model_files(files)}
    assert problems == {
        "r.dmn:sample_rule_high_in: input entry: line 1: name '__import__' is not allowed",
        "r.dmn:sample_rule_low_out: output entry: line 1: name 'open' is not allowed",
    }


# -- hostile files, through validate_paths and the CLI ------------------------------------------------


def _bpmn(lane: str = "security_officer", form: str = "f.schema.json", script: str = "x = 1") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="d" targetNamespace="http://tejun.example/test">
  <bpmn:process id="hostile" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="the_lane" name="{lane}">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>run</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill" />
    <bpmn:userTask id="fill" name="Fill">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="run" />
    <bpmn:scriptTask id="run" name="Run">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="run" targetRef="e" />
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


HOSTILE = {
    "malformed": ("<bpmn:definitions xmlns:bpmn='x'>\n<bpmn:process>\n</bpmn:definitions>",
                  [":-: not well-formed XML at line 3: Opening and ending tag mismatch"]),
    "not_bpmn": ("<html><body>hello</body></html>", [":-: not a BPMN 2.0 file (root element is html)"]),
    "xxe": ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>',
            [":-: DOCTYPE declares entity 'x' at line 2: entity declarations are not allowed"]),
    "billion_laughs": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1 or "") + ";") * 10}">' for i in range(1, 10))
                       + "]><lolz>&lol9;</lolz>",
                       [":-: DOCTYPE declares entity 'lol' at line 1"]),
    "missing_form": (_bpmn(form="nowhere.schema.json"),
                     [":fill: formJsonSchemaFilename 'nowhere.schema.json' names a file that is not in the model set"]),
    "janitor": (_bpmn(lane="janitor"), [":the_lane: lane name 'janitor' is not a known role"]),
    "import": (_bpmn(script="__import__('os').system('touch /tmp/pwned')"),
               [":run: script: line 1: name '__import__' is not allowed"]),
}


@pytest.fixture
def hostile_dir(tmp_path):
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "f.schema.json").write_text('{"type": "object"}')
    for name, (content, _expected) in HOSTILE.items():
        (tmp_path / "bpmn" / f"{name}.bpmn").write_text(content)
    big = tmp_path / "bpmn" / "huge.bpmn"
    with big.open("wb") as handle:
        handle.write(b"<bpmn:definitions>" + b" " * (20 * 1024 * 1024) + b"</bpmn:definitions>")
    (tmp_path / "bpmn" / "fine.bpmn").write_text(_bpmn())
    return tmp_path


def test_the_fixture_model_itself_is_fine(hostile_dir):
    assert validate_paths([str(hostile_dir / "bpmn" / "fine.bpmn")]) == []


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_give_a_clear_problem_line(hostile_dir, name):
    path = str(hostile_dir / "bpmn" / f"{name}.bpmn")
    started = time.process_time()
    lines = [str(p) for p in validate_paths([path])]
    assert time.process_time() - started < 5
    for expected in HOSTILE[name][1]:
        assert any(line.startswith(path + expected) for line in lines), lines
    assert not Path("/tmp/pwned").exists() or name != "import"


def test_a_20_mb_file_is_refused_without_reading_it(hostile_dir):
    path = str(hostile_dir / "bpmn" / "huge.bpmn")
    started = time.process_time()
    (problem,) = validate_paths([path])
    assert time.process_time() - started < 1
    size = Path(path).stat().st_size
    assert str(problem) == f"{path}:-: file is too large ({size:,} bytes; the limit is 5,000,000)"


@pytest.fixture
def cli():
    app = Flask(__name__)
    app.cli.add_command(models_cli)
    return app.test_cli_runner()


def test_the_cli_prints_one_line_per_problem_and_exits_1(cli, hostile_dir):
    paths = [str(hostile_dir / "bpmn" / f"{name}.bpmn") for name in (*sorted(HOSTILE), "huge")]
    result = cli.invoke(args=["models", "validate", *paths])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for name, (_content, expected) in HOSTILE.items():
        path = str(hostile_dir / "bpmn" / f"{name}.bpmn")
        for suffix in expected:
            assert any(line.startswith(path + suffix) for line in lines), (name, lines)
    assert any(line.startswith(paths[-1] + ":-: file is too large") for line in lines)
    assert all(re.match(r"^.+?:[^\s:]+: \S", line) for line in lines)
    assert "Traceback" not in result.output
    assert re.search(r"\d+ problem\(s\) in \d+ file\(s\)", result.stderr)


def test_the_cli_is_quiet_and_exits_0_when_all_is_well(cli, hostile_dir):
    result = cli.invoke(args=["models", "validate", str(hostile_dir / "bpmn" / "fine.bpmn"),
                              str(SAMPLE / "bpmn" / "case.bpmn")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.strip() == "ok: 2 file(s)"


def test_the_cli_reports_a_crash_as_a_problem_line(cli, monkeypatch, tmp_path):
    def explode(paths):
        raise RuntimeError("boom")

    monkeypatch.setattr("service.designer.validation.validate_paths", explode)
    result = cli.invoke(args=["models", "validate", str(tmp_path / "a.bpmn")])
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'a.bpmn'}:-: internal error: RuntimeError: boom\n"
    assert "Traceback" not in result.output


def test_the_cli_needs_at_least_one_file(cli):
    result = cli.invoke(args=["models", "validate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_the_command_runs_as_a_real_process(hostile_dir):
    escape = str(hostile_dir / "bpmn" / "import.bpmn")
    code = "from service.cli.models_cli import models_cli; models_cli(prog_name='flask models')"
    result = subprocess.run(
        [sys.executable, "-c", code, "validate", escape, str(hostile_dir / "bpmn" / "xxe.bpmn")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1, result.stderr
    assert f"{escape}:run: script: line 1: name '__import__' is not allowed" in result.stdout.splitlines()
    assert "Traceback" not in result.stdout + result.stderr
    fine = subprocess.run([sys.executable, "-c", code, "validate", str(hostile_dir / "bpmn" / "fine.bpmn")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert fine.returncode == 0 and fine.stdout == ""
