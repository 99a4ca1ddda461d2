"""Validating a model set before it is stored or published, and model files on disk (`models validate`).

Everything `engine.loader.load_model` checks (XML, BPMN/DMN schema, SpiffWorkflow's parser, building every
executable process), plus the conventions of docs/modeling.md: each user task has a form that exists and
is a usable JSON Schema, sits in a lane, and each lane is a known role; every script, condition and DMN
cell compiles in the sandbox; call activities and business-rule tasks point at something that exists.

Only processes that can run (executable ones, and those called from a call activity) are held to the
conventions: a documentation-only pool is not expected to have forms or Python conditions.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from ..engine.loader import (
    BPMN_NS,
    SPIFF_NS,
    Problem,
    is_dmn_namespace,
    load_model,
    missing_decision_message,
    missing_process_message,
    one_line,
)
from ..engine.safe_xml import DEFAULT_MAX_BYTES, XmlProblem, parse_xml
from ..engine.sandbox import check_source
from ..forms.schema import check_schema
from .context_check import CONTEXT_PROPERTY, check_entries, producers_of

KNOWN_ROLES = frozenset({
    "fa_officer", "fa_manager", "security_officer", "institution_admin", "researcher", "ministry_officer",
    "process_designer", "auditor", "system_admin",
})
STAGES = frozenset({
    "designation", "roster", "identification", "assessment", "mitigation", "approval", "fa_review",
    "consultation", "additional_mitigation", "follow_up",
})
PRIORITIES = frozenset({"low", "normal", "high", "urgent"})
_LANE = re.compile(r"(?P<role>[a-z_]+)(@(?P<scope>[a-z_]+))?")
MAX_FILE_BYTES = DEFAULT_MAX_BYTES


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


_SUBPROCESS_TAGS = {_q("subProcess"), _q("transaction"), _q("adHocSubProcess")}


# --------------------------------------------------------------------------------------------------
# Model sets
# --------------------------------------------------------------------------------------------------


def _kind(name: str) -> str | None:
    lower = name.lower()
    for suffix, kind in ((".bpmn", "bpmn"), (".bpmn20.xml", "bpmn"), (".dmn", "dmn"), (".json", "json")):
        if lower.endswith(suffix):
            return kind
    return None


def find_file(files: Mapping[str, Any], name: str) -> str | None:
    """The key of the file a BPMN property names: exactly, in a `forms/` folder, or by base name."""
    if name in files:
        return name
    matches = [key for key in files if os.path.basename(key) == name]
    in_forms = [key for key in matches if os.path.basename(os.path.dirname(key)) == "forms"]
    return (in_forms or matches or [None])[0]


def validate_model_files(files: Mapping[str, bytes], context_sources: Mapping[str, bytes] | None = None
                         ) -> list[Problem]:
    """Every problem in a model set `{relative file name: content}`; empty when it can be published.

    `context_sources`: more files whose forms, scripts and decisions count as producing data for context paths
    (the folder of a file validated alone on the command line)."""
    problems: list[Problem] = []
    try:
        model = load_model(files, strict=False)
        problems += model.problems
        documents = model.documents
    except Exception as exc:  # load_model does not raise when not strict; never let validation crash
        problems.append(Problem("-", None, f"internal error: {type(exc).__name__}: {one_line(exc)}"))
        documents = {}
    checker = _SetChecker(files, documents, problems)
    checker.context_sources = context_sources or {}
    try:
        checker.run()
    except Exception as exc:
        problems.append(Problem("-", None, f"internal error: {type(exc).__name__}: {one_line(exc)}"))
    return list(dict.fromkeys(problems))


class _SetChecker:
    def __init__(self, files: Mapping[str, bytes], documents: Mapping[str, etree._Element],
                 problems: list[Problem]):
        self.files = files
        self.documents = documents
        self.problems = problems
        self.json: dict[str, Any] = {}
        self.bpmn = {name: root for name, root in documents.items() if root.tag == _q("definitions")}
        self.dmn = {name: root for name, root in documents.items() if is_dmn_namespace(root.tag)}
        self.process_ids = {p.get("id") for root in self.bpmn.values() for p in root.iter(_q("process"))}
        self.called = {c.get("calledElement") for root in self.bpmn.values() for c in root.iter(_q("callActivity"))}
        self.decision_ids = {d.get("id") for root in self.dmn.values()
                             for d in root.iter(f"{{{etree.QName(root).namespace}}}decision")}
        self.checked_forms: set[str] = set()
        self.checked_context: set[str] = set()

    def add(self, file: str, element_id: str | None, message: str) -> None:
        self.problems.append(Problem(file, element_id, one_line(message)))

    def guarded(self, name: str, check, root: etree._Element) -> None:
        try:
            check(name, root)
        except Exception as exc:  # a bug here must not hide the other files' problems
            self.add(name, None, f"internal error while checking: {type(exc).__name__}: {exc}")

    def run(self) -> None:
        for name in sorted(self.files):
            kind = _kind(name)
            if kind is None:
                self.add(name, None, "unsupported file type (expected .bpmn, .dmn or .json)")
            elif kind == "json":
                self.load_json(name)
        for name, root in self.bpmn.items():
            self.guarded(name, self.check_bpmn, root)
        for name, root in self.dmn.items():
            self.guarded(name, self.check_dmn, root)
        for name in sorted(self.json):
            if name.endswith(".schema.json") and not name.endswith(".uischema.json"):
                self.check_form_schema(name)
            elif name.endswith(".uischema.json"):
                self.check_ui_schema(name)
            elif name.endswith(".context.json") and name not in self.checked_context:
                self.check_context(name, None, None)

    # -- context beside the form (service/designer/context_check.py) ---------------------------------------

    context_sources: Mapping[str, bytes] = {}

    def producers(self):
        if getattr(self, "_producers", None) is None:
            documents, loaded = dict(self.documents), dict(self.json)
            for name, content in self.context_sources.items():
                if name in self.files:
                    continue
                if _kind(name) == "json":
                    try:
                        loaded[name] = json.loads(content)
                    except ValueError:
                        continue
                else:
                    try:
                        documents[name] = parse_xml(content, filename=name)
                    except XmlProblem:
                        continue
            self._producers = producers_of(self.files, documents, loaded)
        return self._producers

    def check_context(self, name: str, file: str | None, task_id: str | None) -> None:
        self.checked_context.add(name)
        forms = self.producers().forms

        def find_form(form: str):
            key = find_file(self.files, form) or find_file(self.context_sources, form)
            return forms.get(key) if key else None

        for problem in check_entries(self.json[name], self.producers(), find_form):
            self.add(file or name, task_id, f"{CONTEXT_PROPERTY} '{name}': {problem}")

    # -- JSON -----------------------------------------------------------------------------------------

    def load_json(self, name: str) -> None:
        content = self.files[name]
        if len(content) > MAX_FILE_BYTES:
            self.add(name, None, f"file is too large ({len(content):,} bytes; the limit is {MAX_FILE_BYTES:,})")
            return
        try:
            self.json[name] = json.loads(content)
        except UnicodeDecodeError as exc:
            self.add(name, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        except json.JSONDecodeError as exc:
            self.add(name, None, f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            self.add(name, None, f"not valid JSON: {exc}")

    def check_form_schema(self, name: str) -> None:
        if name in self.checked_forms or name not in self.json:
            return
        self.checked_forms.add(name)
        try:
            found = check_schema(self.json[name])
        except Exception as exc:
            found = [f": cannot check this schema: {type(exc).__name__}: {exc}"]
        for problem in found:
            where, _, message = problem.partition(": ")
            self.add(name, None, f"form schema {where or '(root)'}: {message}")

    def check_ui_schema(self, name: str) -> None:
        if name in self.json and not isinstance(self.json[name], dict):
            self.add(name, None, "UI schema must be a JSON object")

    # -- BPMN -----------------------------------------------------------------------------------------

    def runnable_processes(self, root: etree._Element) -> list[etree._Element]:
        return [
            p for p in root.iter(_q("process"))
            if p.get("isExecutable", "true") == "true" or p.get("id") in self.called
        ]

    def check_bpmn(self, name: str, root: etree._Element) -> None:
        processes = self.runnable_processes(root)
        if not processes:
            self.add(name, None, 'no executable process (mark the process isExecutable="true")')
        for process in processes:
            lanes = self.check_lanes(name, process)
            for element in process.iter(_q("userTask")):
                self.check_user_task(name, element, lanes)
            for element in process.iter(_q("callActivity")):
                self.check_call_activity(name, element)
            for element in process.iter(_q("businessRuleTask")):
                self.check_business_rule_task(name, element)
            for element in process.iter(_q("serviceTask")):
                self.add(name, element.get("id"), "service tasks cannot run in tejun (no external services are "
                                                  "connected); use a script task or a user task")
            for element_id, what, source, mode in _bpmn_code(process):
                self.check_code(name, element_id, what, source, mode)
        for element_id, what, source, mode in _definition_code(root):
            self.check_code(name, element_id, what, source, mode)

    def check_lanes(self, name: str, process: etree._Element) -> dict[str, str]:
        """Checks lane names; returns {flow node id: lane name} (the innermost lane wins)."""
        lanes: dict[str, str] = {}
        for lane in process.iter(_q("lane")):
            lane_name = (lane.get("name") or "").strip()
            problem = lane_problem(lane_name)
            if problem:
                self.add(name, lane.get("id"), problem)
            for ref in lane.findall(_q("flowNodeRef")):
                if ref.text and lane_name:
                    lanes[ref.text.strip()] = lane_name
        return lanes

    def check_user_task(self, name: str, task: etree._Element, lanes: Mapping[str, str]) -> None:
        task_id = task.get("id")
        lane, own = _lane_of(task, lanes), lanes.get(task_id)
        if lane is None:
            self.add(name, task_id, "user task is not in a lane (put it in a lane named after the role that does it)")
        elif own is not None and own != lane:
            self.add(name, task_id, f"user task's lane '{own}' is ignored: tasks inside a sub-process take the "
                                    f"sub-process's lane '{lane}'")
        properties = _properties(task)
        form = properties.get("formJsonSchemaFilename")
        if not form:
            self.add(name, task_id, "user task has no form (spiffworkflow property formJsonSchemaFilename)")
        else:
            self.check_form_reference(name, task_id, form, "formJsonSchemaFilename")
        ui = properties.get("formUiSchemaFilename")
        if ui:
            self.check_form_reference(name, task_id, ui, "formUiSchemaFilename")
        context = properties.get(CONTEXT_PROPERTY)
        if context:
            self.check_form_reference(name, task_id, context, CONTEXT_PROPERTY)
        stage = properties.get("stage")
        if stage is not None and stage not in STAGES:
            self.add(name, task_id, f"stage '{stage}' is not a stage code ({', '.join(sorted(STAGES))})")
        priority = properties.get("priority")
        if priority is not None and priority not in PRIORITIES:
            self.add(name, task_id, f"priority '{priority}' is not one of {', '.join(sorted(PRIORITIES))}")
        for key in ("assignee", "dueDate"):
            if properties.get(key):
                self.check_code(name, task_id, f"{key} expression", properties[key], "eval")
        submits = (properties.get("submitsToFundingAgency") or "").strip()  # service/cases/submissions.py
        if submits and submits.lower() not in ("true", "false", "yes", "no"):
            self.check_code(name, task_id, "submitsToFundingAgency condition", submits, "eval")

    def check_form_reference(self, name: str, task_id: str | None, form: str, prop: str) -> None:
        if "/" in form or "\\" in form or form.startswith("."):
            self.add(name, task_id, f"{prop} '{form}' must be a plain file name (forms live in forms/)")
            return
        key = find_file(self.files, form)
        if key is None:
            self.add(name, task_id, f"{prop} '{form}' names a file that is not in the model set")
        elif key not in self.json:
            if _kind(key) != "json":
                self.add(name, task_id, f"{prop} '{form}' is not a JSON file")
            # otherwise its JSON problem is reported on the file itself
        elif prop == "formJsonSchemaFilename":
            self.check_form_schema(key)
        elif prop == CONTEXT_PROPERTY:
            self.check_context(key, name, task_id)
        elif not isinstance(self.json[key], dict):
            self.add(name, task_id, f"{prop} '{form}' is not a JSON object")

    def check_call_activity(self, name: str, element: etree._Element) -> None:
        called = element.get("calledElement")
        if not called:
            self.add(name, element.get("id"), "call activity names no process (calledElement)")
        elif called not in self.process_ids:
            self.add(name, element.get("id"), missing_process_message(called))

    def check_business_rule_task(self, name: str, element: etree._Element) -> None:
        decision = element.findtext(f"{_q('extensionElements')}/{_q('calledDecisionId', SPIFF_NS)}")
        decision = decision.strip() if decision else None
        if not decision or decision not in self.decision_ids:
            self.add(name, element.get("id"), missing_decision_message(decision))

    def check_code(self, name: str, element_id: str | None, what: str, source: str | None, mode: str) -> None:
        if source is None or not source.strip():
            if what == "script":
                self.add(name, element_id, "script task has no script")
            return
        for problem in check_source(source, mode):  # type: ignore[arg-type]
            self.add(name, element_id, f"{what}: {problem}")

    # -- DMN ------------------------------------------------------------------------------------------

    def check_dmn(self, name: str, root: etree._Element) -> None:
        ns = etree.QName(root).namespace
        for table in root.iter(f"{{{ns}}}decisionTable"):
            inputs = []
            for element in table.findall(f"{{{ns}}}input"):
                expression = element.findtext(f"{{{ns}}}inputExpression/{{{ns}}}text")
                inputs.append(expression.strip() if expression and expression.strip() else None)
                if inputs[-1]:
                    self.check_code(name, element.get("id"), "input expression", inputs[-1], "eval")
            for rule in table.findall(f"{{{ns}}}rule"):
                for index, entry in enumerate(rule.findall(f"{{{ns}}}inputEntry")):
                    text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                    if text and text != "-":
                        source = dmn_input_test(inputs[index] if index < len(inputs) else None, text)
                        self.check_code(name, entry.get("id"), "input entry", source, "eval")
                for entry in rule.findall(f"{{{ns}}}outputEntry"):
                    text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                    if text:
                        self.check_code(name, entry.get("id"), "output entry", text, "eval")


def lane_problem(lane_name: str) -> str | None:
    """Why a lane name is not a role code (docs/modeling.md, "Lanes"), or None when it is one."""
    if not lane_name:
        return "lane has no name (name it after a role, e.g. security_officer or security_officer@partner)"
    match = _LANE.fullmatch(lane_name)
    if match is None or match.group("role") not in KNOWN_ROLES:
        return f"lane name '{lane_name}' is not a known role ({', '.join(sorted(KNOWN_ROLES))}, optionally @scope)"
    return None


def dmn_input_test(input_expression: str | None, text: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for one input cell."""
    subject = input_expression or "dmninputexpr"
    if "?" in text:
        return re.sub(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", text)
    try:  # SpiffWorkflow compares with == when the cell parses on its own, else appends it (`< 5`)
        ast.parse(text)
    except (SyntaxError, ValueError):
        return f"{subject} {text}"
    return f"({subject}) == ({text})"


def _properties(element: etree._Element) -> dict[str, str]:
    properties = {}
    path = f"{_q('extensionElements')}/{_q('properties', SPIFF_NS)}/{_q('property', SPIFF_NS)}"
    for prop in element.findall(path):
        if prop.get("name"):
            properties[prop.get("name")] = prop.get("value", "")
    return properties


def _lane_of(element: etree._Element, lanes: Mapping[str, str]) -> str | None:
    """The lane SpiffWorkflow gives the element: an enclosing sub-process's lane (outermost first) wins
    over the element's own."""
    chain = [a for a in element.iterancestors() if a.tag in _SUBPROCESS_TAGS][::-1] + [element]
    return next((lanes[node.get("id")] for node in chain if node.get("id") in lanes), None)


def _text(element: etree._Element | None) -> str | None:
    return element.text if element is not None else None


def _owner_id(element: etree._Element) -> str | None:
    """Id of the nearest element (itself or an ancestor) that has one."""
    node: etree._Element | None = element
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _bpmn_code(process: etree._Element) -> Iterator[tuple[str | None, str, str | None, str]]:
    """(element id, what, source, mode) for every piece of Python inside a process."""
    for task in process.iter(_q("scriptTask")):
        yield task.get("id"), "script", _text(task.find(_q("script"))), "exec"
    for tag in ("preScript", "postScript"):
        for script in process.iter(_q(tag, SPIFF_NS)):
            yield _owner_id(script.getparent()), tag, script.text, "exec"
    for flow in process.iter(_q("sequenceFlow")):
        condition = flow.find(_q("conditionExpression"))
        if condition is not None:
            yield flow.get("id"), "condition", condition.text, "eval"
    for definition in process.iter(_q("conditionalEventDefinition")):
        yield _owner_id(definition.getparent()), "event condition", _text(definition.find(_q("condition"))), "eval"
    for definition in process.iter(_q("timerEventDefinition")):
        for tag in ("timeDate", "timeDuration", "timeCycle"):
            child = definition.find(_q(tag))
            if child is not None:
                yield _owner_id(definition.getparent()), f"timer {tag}", child.text, "eval"
    for loop in process.iter(_q("multiInstanceLoopCharacteristics")):
        for tag in ("loopCardinality", "completionCondition"):
            child = loop.find(_q(tag))
            if child is not None:
                yield _owner_id(loop.getparent()), tag, child.text, "eval"
    for loop in process.iter(_q("standardLoopCharacteristics")):
        child = loop.find(_q("loopCondition"))
        if child is not None:
            yield _owner_id(loop.getparent()), "loopCondition", child.text, "eval"
    for expression in process.iter(_q("expression", SPIFF_NS)):
        yield _owner_id(expression), "correlation expression", expression.text, "eval"


def _definition_code(root: etree._Element) -> Iterator[tuple[str | None, str, str | None, str]]:
    """Python held at the definitions level: message payloads, event payloads, correlation keys."""
    for tag in ("messagePayload", "payloadExpression"):
        for element in root.iter(_q(tag, SPIFF_NS)):
            yield _owner_id(element), tag, element.text, "eval"
    for retrieval in root.iter(_q("correlationPropertyRetrievalExpression")):
        for child in retrieval:
            if child.tag in (_q("formalExpression"), _q("messagePath")):
                yield _owner_id(retrieval), "correlation retrieval expression", child.text, "eval"


# --------------------------------------------------------------------------------------------------
# Files on disk
# --------------------------------------------------------------------------------------------------


def validate_paths(paths: Iterable[str]) -> list[Problem]:
    """Validate files named on the command line, each with the sibling files it needs.

    A BPMN file is checked together with the forms it names (looked up in `forms/` next to its folder,
    then in its own folder), the DMN files in its folder that define decisions it calls, and the BPMN
    files in its folder that define processes it calls. Problems name files as the user wrote them.
    """
    problems: list[Problem] = []
    for given in paths:
        try:
            problems += _validate_path(str(given))
        except Exception as exc:  # a crash is a problem line too, never a traceback
            problems.append(Problem(str(given), None, f"internal error: {type(exc).__name__}: {one_line(exc)}"))
    return list(dict.fromkeys(problems))


def _read(path: Path) -> bytes:
    """The file's bytes; raises OSError, or ValueError when it is too large to consider."""
    if not path.exists():
        raise FileNotFoundError("no such file")
    if path.is_dir():
        raise IsADirectoryError("is a directory; name the .bpmn, .dmn or .json files to validate")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})")
    with path.open("rb") as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ValueError(f"file is too large (more than {MAX_FILE_BYTES:,} bytes)")
    return content


def _validate_path(given: str) -> list[Problem]:
    path = Path(given)
    try:
        content = _read(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return [Problem(given, None, f"cannot read: {reason}" if isinstance(exc, PermissionError) else reason)]
    kind = _kind(given)
    if kind is None:
        return [Problem(given, None, "unsupported file type (expected .bpmn, .dmn or .json)")]
    files = {given: content}
    if kind == "bpmn":
        _add_dependencies(files, path, given)
        return validate_model_files(files, _folder_sources(path, given))
    return validate_model_files(files)


def _folder_sources(path: Path, given: str) -> dict[str, bytes]:
    """The BPMN/DMN files of the folder and the forms next to it: what may produce data for context paths."""
    folder = path.resolve().parent
    found: dict[str, bytes] = {}
    for directory, pattern, parts in ((folder, "*.bpmn", ()), (folder, "*.dmn", ()),
                                      (folder.parent / "forms", "*.schema.json", ("..", "forms"))):
        for candidate in sorted(directory.glob(pattern)) if directory.is_dir() else []:
            try:
                found[_display(given, *parts, candidate.name)] = _read(candidate)
            except (OSError, ValueError):
                continue
    return found


def _display(given: str, *parts: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(given) or ".", *parts))


def _xml_or_none(content: bytes, name: str) -> etree._Element | None:
    try:
        return parse_xml(content, filename=name)
    except XmlProblem:
        return None


def _add_dependencies(files: dict[str, bytes], path: Path, given: str) -> None:
    """Add the forms, DMN and BPMN files the BPMN file(s) in `files` refer to (transitively)."""
    path = path.resolve()  # `x.bpmn` run inside bpmn/ must still find ../forms
    folder = path.parent
    siblings = {
        p: None for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in (".bpmn", ".dmn") and p.resolve() != path
    } if folder.is_dir() else {}
    defined: dict[Path, set[str]] = {}

    def ids_in(sibling: Path) -> set[str]:
        if sibling not in defined:
            defined[sibling] = set()
            try:
                content = _read(sibling)
            except (OSError, ValueError):
                return defined[sibling]
            root = _xml_or_none(content, sibling.name)
            if root is not None:
                tags = (_q("process"),) if root.tag == _q("definitions") else (
                    f"{{{etree.QName(root).namespace}}}decision",)
                defined[sibling] = {e.get("id") for tag in tags for e in root.iter(tag) if e.get("id")}
            else:  # unreadable: claim the ids its text mentions, so its problem is shown where it matters
                defined[sibling] = set(re.findall(r'id="([^"]+)"', content.decode("utf-8", "replace")))
            siblings[sibling] = content
        return defined[sibling]

    pending = [given]
    while pending:
        root = _xml_or_none(files[pending.pop()], "")
        if root is None or root.tag != _q("definitions"):
            continue
        own = {p.get("id") for p in root.iter(_q("process"))}
        wanted = {c.get("calledElement") for c in root.iter(_q("callActivity"))} - own - {None}
        wanted |= {(t.findtext(f"{_q('extensionElements')}/{_q('calledDecisionId', SPIFF_NS)}") or "").strip()
                   for t in root.iter(_q("businessRuleTask"))} - {""}
        for sibling in list(siblings):
            key = _display(given, sibling.name)
            if key not in files and wanted and wanted & ids_in(sibling) and siblings[sibling] is not None:
                files[key] = siblings[sibling]
                if sibling.suffix.lower() == ".bpmn":
                    pending.append(key)
        for task in root.iter(_q("userTask")):
            for prop in ("formJsonSchemaFilename", "formUiSchemaFilename", CONTEXT_PROPERTY):
                form = _properties(task).get(prop)
                if not form or "/" in form or "\\" in form or form.startswith("."):
                    continue
                for candidate, parts in ((folder.parent / "forms" / form, ("..", "forms", form)),
                                         (folder / form, (form,))):
                    key = _display(given, *parts)
                    if key in files:
                        break
                    try:
                        files[key] = _read(candidate)
                        break
                    except (OSError, ValueError):
                        continue
