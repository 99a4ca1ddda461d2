"""Loading a model set (BPMN, DMN and form files) into SpiffWorkflow specs, with every failure explained.

SpiffWorkflow reports bad files in many ways: `ValidationException` (with `.file_name`, `.id`,
`.line_number`), but also `TypeError`, `KeyError`, `AttributeError` from deep inside its parsers, and
partial specs left behind after a failure. Here each failure becomes a `Problem` naming the file and,
wherever it can be found, the element; nothing escapes as a traceback.

XML is read with `safe_xml.parse_xml` (no entities, no DTDs, no network) and checked against the BPMN/DMN
schemas SpiffWorkflow ships before its parsers see it.
"""

from __future__ import annotations

import functools
import re
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.util import BPMN_MODEL_NS
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask as SubWorkflowTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .safe_xml import XmlProblem, parse_xml

BPMN_NS = BPMN_MODEL_NS
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
_SHORT_NAMESPACES = {f"{{{BPMN_NS}}}": "bpmn:", f"{{{SPIFF_NS}}}": "spiffworkflow:"}


@dataclass(frozen=True)
class Problem:
    """One line of `models validate` output."""

    file: str
    element_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.element_id or '-'}: {self.message}"


class ModelError(Exception):
    """The model set cannot be used; `.problems` says why, one `Problem` each."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid model")


@dataclass(frozen=True)
class UserTaskInfo:
    process_id: str
    element_id: str
    name: str | None
    lane: str | None  # the task's lane, or the lane of the embedded sub-process it sits in
    properties: dict[str, str]
    file: str


def missing_process_message(called: str) -> str:
    return f"calls process '{called}', which is not in the model set"


def missing_decision_message(decision: str | None) -> str:
    if not decision:
        return "business rule task names no decision (spiffworkflow:calledDecisionId)"
    return f"calls decision '{decision}', which is not in the model set"


def is_dmn_namespace(tag: str) -> bool:
    return tag.startswith("{") and "/DMN/" in tag.upper() and tag.endswith("}definitions")


# --------------------------------------------------------------------------------------------------
# Turning exceptions into problems
# --------------------------------------------------------------------------------------------------


def one_line(text: Any) -> str:
    """Whitespace collapsed, namespaces shortened, lxml reprs without memory addresses."""
    text = " ".join(str(text).split())
    for long, short in _SHORT_NAMESPACES.items():
        text = text.replace(long, short)
    return re.sub(r"<Element (\S+) at 0x[0-9a-fA-F]+>", r"<\1>", text)


def _element_in_traceback(exc: BaseException) -> etree._Element | None:
    """The innermost XML element with an id that SpiffWorkflow's parser was working on when it failed."""
    found = None
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        candidates = [frame.f_locals.get("node"), getattr(frame.f_locals.get("self"), "node", None)]
        candidates += [v for v in frame.f_locals.values() if isinstance(v, etree._Element)]
        candidates = [c for c in candidates if isinstance(c, etree._Element) and c.get("id")]
        if candidates:  # the deepest element of the innermost frame that has any
            found = max(candidates, key=lambda c: sum(1 for _ in c.iterancestors()))
    return found


def _element_at_line(root: etree._Element | None, line: int) -> str | None:
    """Id of the element starting on `line`, or of its nearest ancestor with an id."""
    if root is None:
        return None
    for element in root.iter():
        if element.sourceline == line:
            while element is not None and not element.get("id"):
                element = element.getparent()
            return element.get("id") if element is not None else None
    return None


def _spiff_message(exc: SpiffWorkflowException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    cause = exc.__context__
    if cause is not None and text == repr(cause):  # SpiffWorkflow wraps parser crashes as repr(exception)
        text = f"SpiffWorkflow cannot read this element: {type(cause).__name__}: {cause}"
    notes = [note for note in getattr(exc, "notes", []) if note]
    return one_line("; ".join([text.rstrip(". "), *notes]))


def problem_from_exception(
    exc: BaseException,
    file: str,
    element_id: str | None = None,
    documents: Mapping[str, etree._Element] | None = None,
) -> Problem:
    documents = documents or {}
    if isinstance(exc, XmlProblem):
        return Problem(file, element_id, exc.message)
    if isinstance(exc, ValidationException):
        file = exc.file_name if exc.file_name in documents else file
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
        element = exc.id or (_element_at_line(documents.get(file), line) if line else None)
        if not element:
            node = _element_in_traceback(exc)
            element = node.get("id") if node is not None else element_id
        message = _spiff_message(exc)
        if line and f"line {line}" not in message:
            message += f" (line {line})"
        return Problem(file, element, message)
    if isinstance(exc, SpiffWorkflowException):
        spec = getattr(exc, "task_spec", None)
        return Problem(file, getattr(spec, "bpmn_id", None) or element_id, _spiff_message(exc))
    node = _element_in_traceback(exc)
    where = f" (line {node.sourceline})" if node is not None and node.sourceline else ""
    return Problem(
        file,
        node.get("id") if node is not None else element_id,
        one_line(f"SpiffWorkflow cannot read this element{where}: {type(exc).__name__}: {exc}"),
    )


# --------------------------------------------------------------------------------------------------
# The loaded model
# --------------------------------------------------------------------------------------------------

Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


@dataclass
class LoadedModel:
    """A parsed model set. Specs are built when the model is loaded and shared by every case using it."""

    files: dict[str, bytes]
    process_ids: list[str]  # executable processes found
    parser: SpiffBpmnParser = field(repr=False)
    documents: dict[str, etree._Element] = field(default_factory=dict, repr=False)  # parsed BPMN/DMN roots
    problems: list[Problem] = field(default_factory=list)
    _specs: dict[str, Specs] = field(default_factory=dict, repr=False)
    _failures: dict[str, list[Problem]] = field(default_factory=dict, repr=False)

    def specs_for(self, process_id: str) -> Specs:
        """(top-level spec, {process id: spec} of everything it calls or embeds); raises `ModelError`."""
        if process_id in self._specs:
            return self._specs[process_id]
        if process_id in self._failures:
            raise ModelError(self._failures[process_id])
        known = ", ".join(self.process_ids) or "none"
        raise ModelError([Problem("-", process_id, f"no executable process with this id (known: {known})")])

    def all_specs(self) -> Iterator[tuple[str, BpmnProcessSpec]]:
        """Every spec that was built, each process once: (process id, spec)."""
        seen = set()
        for top, subprocesses in self._specs.values():
            for process_id, spec in ((top.name, top), *subprocesses.items()):
                if spec is not None and process_id not in seen:
                    seen.add(process_id)
                    yield process_id, spec

    def user_tasks(self) -> list[UserTaskInfo]:
        """Every user task across the processes, with its effective lane and spiff properties."""
        owners = {}  # embedded sub-process id -> (process embedding it, lane of the sub-process element)
        for process_id, spec in self.all_specs():
            for task_spec in spec.task_specs.values():
                if isinstance(task_spec, SubWorkflowTaskMixin) and not isinstance(task_spec, CallActivity):
                    owners[task_spec.spec] = (process_id, task_spec.lane)
        found: dict[tuple[str, str], UserTaskInfo] = {}
        for process_id, spec in self.all_specs():
            for task_spec in spec.task_specs.values():
                if not isinstance(task_spec, UserTaskMixin):
                    continue
                lane, current = task_spec.lane, process_id
                while lane is None and current in owners:
                    current, lane = owners[current]
                properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
                found.setdefault((process_id, task_spec.bpmn_id), UserTaskInfo(
                    process_id=process_id,
                    element_id=task_spec.bpmn_id,
                    name=task_spec.bpmn_name,
                    lane=lane,
                    properties=dict(properties),
                    file=spec.file,
                ))
        return list(found.values())


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

# lxml schema validators keep their error log on the object: one validation at a time.
_VALIDATION_LOCK = threading.Lock()


@functools.cache
def _dmn_validator(namespace: str | None) -> BpmnValidator | None:
    """Schema validator for a DMN version SpiffWorkflow ships a schema for (built once: it is slow).

    SpiffWorkflow 3.2.0's DMN 1.2 schema does not load (its DMNDI import is missing); such files are
    then only checked by the parser.
    """
    schema = DMN_SCHEMAS.get(namespace or "")
    if not schema:
        return None
    try:
        return BpmnValidator(schema)
    except etree.XMLSchemaParseError:
        return None


def _dmn_namespace(root: etree._Element) -> str | None:
    """The namespace SpiffWorkflow's DMN parser reads `dmn:` elements in: the default one, else `dmn:`."""
    return root.nsmap.get(None) or root.nsmap.get("dmn")


class _Loader:
    def __init__(self, files: Mapping[str, bytes]):
        self.files = dict(files)
        self.parser = SpiffBpmnParser()
        self.documents: dict[str, etree._Element] = {}
        self.problems: list[Problem] = []
        self.decision_files: dict[str, str] = {}
        self.explained: set[tuple[str, str | None]] = set()

    def add(self, problem: Problem) -> None:
        if (problem.file, problem.element_id) not in self.explained:
            self.problems.append(problem)

    def problem(self, exc: BaseException, file: str, element_id: str | None = None) -> None:
        self.add(problem_from_exception(exc, file, element_id, self.documents))

    def check_references(self) -> None:
        """Event definitions must name a message/signal/error/escalation that exists.

        SpiffWorkflow crashes on a dangling reference with a TypeError about its own code; we say what is
        wrong first, and leave out its report for the same element.
        """
        bpmn = {name: root for name, root in self.documents.items() if root.tag == f"{{{BPMN_NS}}}definitions"}
        for kind in ("message", "signal", "error", "escalation"):
            defined = {e.get("id") for root in bpmn.values() for e in root.iter(f"{{{BPMN_NS}}}{kind}")}
            for name, root in bpmn.items():
                for element in root.iter():
                    ref = element.get(f"{kind}Ref") if isinstance(element.tag, str) else None
                    if ref is None or ref in defined:
                        continue
                    owner = element if element.get("id") and not element.tag.endswith("EventDefinition") else None
                    owner = owner if owner is not None else element.getparent()
                    self.explained.add((name, owner.get("id")))
                    self.problems.append(Problem(name, owner.get("id"),
                                                 f"{kind}Ref '{ref}' does not match any bpmn:{kind} in the model set"))

    def run(self) -> LoadedModel:
        for name in sorted(self.files):
            lower = name.lower()
            if lower.endswith(".bpmn") or lower.endswith(".bpmn20.xml"):
                self.add_bpmn(name)
            elif lower.endswith(".dmn"):
                self.add_dmn(name)
        self.check_references()
        process_ids = list(self.parser.get_process_ids())  # before building adds embedded sub-processes
        model = LoadedModel(files=self.files, process_ids=process_ids, parser=self.parser,
                            documents=self.documents, problems=self.problems)
        for process_id in process_ids:
            before = len(self.problems)
            specs = self.build(process_id)
            if specs is None:
                model._failures[process_id] = self.problems[before:] or [
                    Problem(self.file_of(process_id), process_id, "process could not be built")]
            else:
                model._specs[process_id] = specs
        model.problems[:] = list(dict.fromkeys(self.problems))  # same problem reached twice: once
        return model

    def parse(self, name: str) -> etree._Element | None:
        try:
            root = parse_xml(self.files[name], filename=name)
        except XmlProblem as exc:
            self.problem(exc, name)
            return None
        return root

    def add_bpmn(self, name: str) -> None:
        root = self.parse(name)
        if root is None:
            return
        if root.tag != f"{{{BPMN_NS}}}definitions":
            self.problems.append(Problem(name, None, f"not a BPMN 2.0 file (root element is {one_line(root.tag)})"))
            return
        self.documents[name] = root
        try:
            with _VALIDATION_LOCK:
                VALIDATOR.validate(root, name)
        except Exception as exc:
            self.problem(exc, name)
            return
        try:
            self.parser.add_bpmn_xml(root, filename=name)
        except Exception as exc:
            self.problem(exc, name)

    def add_dmn(self, name: str) -> None:
        root = self.parse(name)
        if root is None:
            return
        if not is_dmn_namespace(root.tag):
            self.problems.append(Problem(name, None, f"not a DMN file (root element is {one_line(root.tag)})"))
            return
        self.documents[name] = root
        namespace = _dmn_namespace(root)
        decisions = root.findall(f"{{{namespace}}}decision") if namespace else []
        if len(decisions) != 1:
            message = (f"has {len(decisions)} decisions; SpiffWorkflow reads exactly one per DMN file" if decisions
                       else "no decision SpiffWorkflow can read (it reads <decision> in the file's default namespace)")
            self.problems.append(Problem(name, root.get("id"), message))
            return
        known = set(self.parser.dmn_parsers)
        try:
            validator = _dmn_validator(etree.QName(root).namespace)
            if validator is not None:
                with _VALIDATION_LOCK:
                    validator.validate(root, name)
            self.parser.add_dmn_xml(root, filename=name)
        except Exception as exc:
            self.problem(exc, name)
            return
        for decision_id, dmn_parser in self.parser.dmn_parsers.items():
            if dmn_parser.filename != name:
                continue
            if decision_id in known:
                other = self.decision_files.get(decision_id, "another file")
                message = f"decision id '{decision_id}' is also defined in {other}"
                self.problems.append(Problem(name, decision_id, message))
            self.decision_files[decision_id] = name
            try:
                dmn_parser.parse()  # SpiffWorkflow parses decision tables lazily; find their problems now
            except Exception as exc:
                self.problem(exc, name, decision_id)

    def file_of(self, process_id: str) -> str:
        process_parser = self.parser.get_process_parser(process_id)
        return (process_parser.filename if process_parser else None) or "-"

    def spec(self, process_id: str) -> BpmnProcessSpec | None:
        process_parser = self.parser.get_process_parser(process_id)
        try:
            return self.parser.get_spec(process_id)
        except Exception as exc:
            if process_parser is not None:
                process_parser.spec = None  # SpiffWorkflow keeps the half-built spec; never hand it out
            problem = problem_from_exception(exc, self.file_of(process_id), process_id, self.documents)
            if isinstance(exc, ValidationException) and "No DMN Diagram available" in str(exc):
                problem = _decision_problem(problem, exc)
            self.add(problem)
            return None

    def build(self, process_id: str) -> Specs | None:
        top = self.spec(process_id)
        if top is None:
            return None
        subprocesses: dict[str, BpmnProcessSpec] = {}
        ok = self.walk(top, subprocesses)
        return (top, subprocesses) if ok else None

    def walk(self, spec: BpmnProcessSpec, found: dict[str, BpmnProcessSpec]) -> bool:
        ok = True
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, SubWorkflowTaskMixin) or task_spec.spec in found:
                continue
            called = task_spec.spec
            called_parser = self.parser.get_process_parser(called)
            if called_parser is None or not called_parser.process_executable:
                message = missing_process_message(called) if called_parser is None else (
                    f"calls process '{called}', which is not executable (isExecutable=\"false\")")
                self.problems.append(Problem(spec.file or "-", task_spec.bpmn_id, message))
                ok = False
                continue
            sub = self.spec(called)
            if sub is None:
                ok = False
                continue
            found[called] = sub
            ok = self.walk(sub, found) and ok
        return ok


_DECISION_REF = re.compile(r'No DMN Diagram available with id "([^"]*)"')


def _decision_problem(problem: Problem, exc: ValidationException) -> Problem:
    match = _DECISION_REF.search(str(exc))
    decision = match.group(1) if match else None
    return Problem(problem.file, problem.element_id, missing_decision_message(None if decision == "None" else decision))


def load_model(files: Mapping[str, bytes], *, strict: bool = True) -> LoadedModel:
    """Parse a model set `{relative file name: content}` (.bpmn, .dmn; other files are carried along).

    With `strict` (the default) any problem raises `ModelError` listing all of them; otherwise the model
    is returned with `.problems` filled in and `specs_for` raising for the processes that failed.
    """
    try:
        model = _Loader(files).run()
    except Exception as exc:  # a failure outside any one file: still a problem, never a traceback
        problem = problem_from_exception(exc, "-")
        if strict:
            raise ModelError([problem]) from exc
        return LoadedModel(files=dict(files), process_ids=[], parser=SpiffBpmnParser(), problems=[problem])
    if strict and model.problems:
        raise ModelError(model.problems)
    return model
