"""The context file of a user task (`contextFilename`): its entries, paths and schemas, without any database.

Used by the pages and API (service/cases/context.py) and by the designer's validation
(service/designer/context_check.py). docs/modeling.md, "Context beside the form", describes the format.
"""

from __future__ import annotations

import re
from typing import Any

CONTEXT_PROPERTY = "contextFilename"
SPECIAL_SCOPES = ("fa", "lead", "task")
WORKER = "worker"  # visible_to only: whoever may work the task (a researcher's own task included)
_SCOPE = re.compile(r"[a-z][a-z_]*")


# -- the context file ------------------------------------------------------------------------------------
def split_path(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in str(path).split(".") if part != ""]


def lookup(data: Any, path: str) -> Any:
    """The value at `path` in the data, None when any step is missing."""
    node = data
    for part in split_path(path):
        if isinstance(part, int) and isinstance(node, list):
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(node, dict):
            node = node.get(str(part))
        else:
            return None
        if node is None:
            return None
    return node


def entry_problems(entries: Any) -> list[str]:
    """What is wrong with a context file's content itself (paths are checked against the model elsewhere)."""
    if not isinstance(entries, list):
        return ["a context file is a JSON list of entries ({\"path\": ..., \"title\": ...})"]
    problems = []
    for index, entry in enumerate(entries):
        where = f"entry {index + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object")
            continue
        path = entry.get("path")
        if not isinstance(path, str) or not path.strip() or not split_path(path):
            problems.append(f"{where}: 'path' must be a dotted path in the task data, e.g. fa_review.questions")
        elif isinstance(split_path(path)[0], int):
            problems.append(f"{where}: path '{path}' must start with a data key")
        if not isinstance(entry.get("title"), str) or not entry["title"].strip():
            problems.append(f"{where}: 'title' (Japanese) is required")
        i18n = entry.get("x-i18n", {})
        if not isinstance(i18n, dict) or not all(isinstance(v, dict) for v in i18n.values()):
            problems.append(f"{where}: 'x-i18n' must map languages to {{\"title\": ...}}")
        part = entry.get("part", "lead")
        if not isinstance(part, str) or not _SCOPE.fullmatch(part):
            problems.append(f"{where}: 'part' must be a scope (fa, lead, task, or X for X_organization_id)")
        shared = entry.get("visible_to", [])
        shared = [shared] if isinstance(shared, str) else shared
        if not isinstance(shared, list) or not all(isinstance(s, str) and _SCOPE.fullmatch(s) for s in shared):
            problems.append(f"{where}: 'visible_to' must be a scope or a list of scopes (fa, lead, task, worker, X)")
        schema = entry.get("schema")
        if schema is not None and not isinstance(schema, dict | str):
            problems.append(f"{where}: 'schema' must be a JSON Schema object or 'form.schema.json#/pointer'")
        if not isinstance(entry.get("in_title", False), bool):
            problems.append(f"{where}: 'in_title' must be true or false")
        unknown = set(entry) - {"path", "title", "description", "x-i18n", "part", "visible_to", "schema", "in_title"}
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    return problems


def resolve(schema: Any, root: dict) -> dict:
    """Follow local `$ref`s (#/definitions/x, #/$defs/x), at most ten deep."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 10:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        schema = target
        seen += 1
    return schema if isinstance(schema, dict) else {}


def properties(schema: Any, root: dict, depth: int = 0) -> dict[str, dict]:
    """Properties an object schema may have, including those in allOf/anyOf/oneOf and if-then-else."""
    node = resolve(schema, root)
    found: dict[str, dict] = {}
    if depth > 6 or not node:
        return found
    for name, sub in (node.get("properties") or {}).items():
        found.setdefault(name, sub if isinstance(sub, dict) else {})
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or []:
            for name, value in properties(sub, root, depth + 1).items():
                found.setdefault(name, value)
    for key in ("then", "else"):
        for name, value in properties(node.get(key), root, depth + 1).items():
            found.setdefault(name, value)
    return found


def subschema(schema: dict, parts: list, root: dict | None = None) -> dict | None:
    """The schema of the value at `parts` inside `schema`, or None when the schema has no such place."""
    root = schema if root is None else root
    node: Any = schema
    for part in parts:
        node = resolve(node, root)
        if isinstance(part, int):
            items = node.get("items")
            if not isinstance(items, dict):
                return None
            node = items
        else:
            props = properties(node, root)
            if part not in props:
                return None
            node = props[part]
    return resolve(node, root) if isinstance(node, dict) else None


def pointer_target(document: Any, pointer: str) -> Any:
    node = document
    for part in [p for p in pointer.lstrip("#").split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def form_producing(forms: dict[str, Any], key: str) -> str | None:
    """The first form schema (by file name) whose top-level properties include `key`."""
    for name in sorted(forms):
        schema = forms[name]
        if isinstance(schema, dict) and key in (schema.get("properties") or {}):
            return name
    return None
