"""Static checks of the context a user task shows beside its form (`contextFilename`, service/cases/context.py).

What is checked, for every entry of a task's context file:

* the file's own shape (`context.entry_problems`), its `schema` (a JSON Schema object, or a form of the set and
  a JSON pointer that exists in it), and its scopes;
* the path's first key is **produced somewhere in the model set**: a top-level property of a form, a name a
  script, pre- or post-script assigns at its top level, a DMN output, a process's data input or output, a
  multi-instance input/output item or output collection, a message variable, or data the application puts
  into every case (`case`, `call`, `program`) or delivers with messages;
* when that key is produced **only by forms**, the rest of the path must exist in one of those forms' schemas
  (properties, including those of allOf / if-then-else branches; whole numbers step into `items`).

Limits (docs/modeling.md says them too): the check does not follow the order of the flow (a key produced only
*after* the task, or on another branch, passes), keys built by scripts are checked at their top level only,
and a called process validated alone on the command line is checked against the producers of the whole
folder it sits in (its callers may pass it any key). At run time a path that holds nothing shows "not
provided"; it never fails the task.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from ..engine.loader import BPMN_NS, SPIFF_NS, is_dmn_namespace
from ..forms.context import CONTEXT_PROPERTY, SPECIAL_SCOPES, WORKER, entry_problems, pointer_target, split_path
from ..forms.context import subschema as schema_at
from ..forms.schema import check_schema

APPLICATION_KEYS = frozenset({"case", "call", "program", "withdraw_reason", "trigger"})


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def _assigned(source: str | None) -> set[str]:
    """Names a script binds at its top level (not inside functions it defines)."""
    if not source or not source.strip():
        return set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in tree.body:
        visit(statement)
    return names


class Producers:
    """Which data keys a model set produces, and the forms producing each."""

    def __init__(self) -> None:
        self.by_forms: dict[str, set[str]] = {}  # key -> form files with it as a top-level property
        self.other: set[str] = set(APPLICATION_KEYS)  # keys produced by scripts, DMN, data items, messages
        self.forms: dict[str, Any] = {}

    def add_form(self, name: str, schema: Any) -> None:
        if isinstance(schema, dict):
            self.forms[name] = schema
            for key in schema.get("properties") or {}:
                self.by_forms.setdefault(key, set()).add(name)

    def add_bpmn(self, root: etree._Element) -> None:
        for tag, ns in (("script", BPMN_NS), ("preScript", SPIFF_NS), ("postScript", SPIFF_NS)):
            for element in root.iter(_q(tag, ns)):
                self.other |= _assigned(element.text)
        for tag in ("dataInput", "dataOutput", "inputDataItem", "outputDataItem", "dataObject"):
            self.other |= {e.get("name") or e.get("id") for e in root.iter(_q(tag)) if e.get("name") or e.get("id")}
        for element in root.iter(_q("loopDataOutputRef")):
            if element.text:
                self.other.add(element.text.strip())
        for element in root.iter(_q("messageVariable", SPIFF_NS)):
            if element.text:
                self.other.add(element.text.strip())

    def add_dmn(self, root: etree._Element) -> None:
        ns = etree.QName(root).namespace
        self.other |= {o.get("name").split(".")[0] for o in root.iter(f"{{{ns}}}output") if o.get("name")}

    def known(self, key: str) -> bool:
        return key in self.other or key in self.by_forms

    def path_problem(self, path: str) -> str | None:
        parts = split_path(path)
        if not parts:
            return "is empty"
        key = str(parts[0])
        if not self.known(key):
            return (f"starts with '{key}', which no form, script, decision, data input or message of the model "
                    f"set produces")
        if key in self.other or len(parts) == 1:
            return None  # built by a script (or the application): only its top-level key can be known
        forms = sorted(self.by_forms[key])
        if any(schema_at(self.forms[f], parts) is not None for f in forms):
            return None
        return f"does not exist in the form{'s' if len(forms) > 1 else ''} producing '{key}' ({', '.join(forms)})"


def producers_of(files: Mapping[str, bytes], documents: Mapping[str, etree._Element],
                 json_files: Mapping[str, Any]) -> Producers:
    found = Producers()
    for name, schema in json_files.items():
        if name.endswith(".schema.json") and not name.endswith(".uischema.json"):
            found.add_form(name, schema)
    for root in documents.values():
        if root.tag == _q("definitions"):
            found.add_bpmn(root)
        elif is_dmn_namespace(root.tag):
            found.add_dmn(root)
    return found


def check_entries(entries: Any, producers: Producers, find_form) -> list[str]:
    """Problems of one task's context entries. `find_form(name)` gives a form schema of the set, or None."""
    problems = entry_problems(entries)
    if problems:
        return problems
    for index, entry in enumerate(entries):
        where = f"entry {index + 1} ({entry['path']})"
        problem = producers.path_problem(entry["path"])
        if problem:
            problems.append(f"{where}: path {problem}")
        for scope in [entry.get("part", "lead"), *_listed(entry.get("visible_to"))]:
            if scope == WORKER and scope == entry.get("part"):
                problems.append(f"{where}: 'worker' is for visible_to; a part is an organization")
            elif scope not in (*SPECIAL_SCOPES, WORKER) and not producers.known(f"{scope}_organization_id"):
                problems.append(f"{where}: scope '{scope}' needs the data key '{scope}_organization_id', which the "
                                f"model set does not produce")
        schema = entry.get("schema")
        if isinstance(schema, dict):
            problems += [f"{where}: schema {p}" for p in check_schema({"$schema": _DRAFT, **schema})]
        elif isinstance(schema, str):
            file, _, pointer = schema.partition("#")
            target = find_form(file)
            if target is None:
                problems.append(f"{where}: schema names '{file}', which is not a form of the model set")
            elif pointer and not isinstance(pointer_target(target, pointer), dict):
                problems.append(f"{where}: schema pointer '#{pointer}' points to nothing in {file}")
            elif not pointer and schema_at(target, split_path(entry["path"])) is None:
                problems.append(f"{where}: path does not exist in {file}")
    return problems


_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _listed(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


__all__ = ["CONTEXT_PROPERTY", "Producers", "check_entries", "producers_of"]


def context_preview(files: Mapping[str, bytes]) -> list[dict]:
    """For the designer's version page: each user task that declares context, with its entries as the worker
    will see them titled (Japanese and English), where each comes from and whom it is shown to."""
    import json

    from ..engine.safe_xml import XmlProblem, parse_xml

    found = []
    for name in sorted(files):
        if not name.lower().endswith(".bpmn"):
            continue
        try:
            root = parse_xml(files[name], filename=name)
        except XmlProblem:
            continue
        for task in root.iter(_q("userTask")):
            props = {p.get("name"): p.get("value") for p in task.iter(_q("property", SPIFF_NS))}
            context = props.get(CONTEXT_PROPERTY)
            instructions = task.find(f"{_q('extensionElements')}/{_q('instructionsForEndUser', SPIFF_NS)}")
            if not context and instructions is None:
                continue
            key = next((k for k in files if k == context or k.rsplit("/", 1)[-1] == context), None) if context \
                else None
            try:
                entries = json.loads(files[key]) if key else []
            except ValueError:
                entries = []
            rows = [{
                "path": e.get("path"), "title": e.get("title"),
                "title_en": ((e.get("x-i18n") or {}).get("en") or {}).get("title") or e.get("title"),
                "part": e.get("part") or "lead", "visible_to": list(_listed(e.get("visible_to"))),
                "in_title": bool(e.get("in_title")),
            } for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
            found.append({"file": name, "task_id": task.get("id"), "task_name": task.get("name") or task.get("id"),
                          "context": context, "entries": rows,
                          "instructions": instructions.text if instructions is not None else None})
    return found
