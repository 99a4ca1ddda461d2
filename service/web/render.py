"""Submitted form data, shown readably: each value under its form label, choices by their titles.

Works on the localized, reference-expanded schema of the step's form. Values the schema does not describe
are still shown, under their key, so nothing submitted is hidden from the people who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

_MAX_DEPTH = 12


@dataclass
class Node:
    kind: str  # object | list | text | file | empty
    text: str = ""
    fields: list[tuple[str, Node]] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    file_id: str = ""


def _resolve(schema: Any, root: dict) -> dict:
    """Follow local `$ref`s (#/definitions/x, #/$defs/x)."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 10:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        schema = target
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _properties(schema: dict, root: dict) -> dict[str, dict]:
    """The properties an object schema may have, including those declared in allOf/if-then-else/oneOf."""
    found: dict[str, dict] = {}

    def collect(node: Any, depth: int = 0) -> None:
        node = _resolve(node, root)
        if depth > 6 or not node:
            return
        for name, sub in (node.get("properties") or {}).items():
            found.setdefault(name, sub if isinstance(sub, dict) else {})
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key) or []:
                collect(sub, depth + 1)
        for key in ("then", "else"):
            if isinstance(node.get(key), dict):
                collect(node[key], depth + 1)
        for sub in (node.get("dependencies") or {}).values():
            if isinstance(sub, dict):
                collect(sub, depth + 1)

    collect(schema)
    return found


def _choice_title(schema: dict, value: Any, root: dict) -> str | None:
    for option in schema.get("oneOf") or schema.get("anyOf") or []:
        option = _resolve(option, root)
        if "const" in option and option["const"] == value:
            return option.get("title")
        if option.get("enum") == [value]:
            return option.get("title")
    names = schema.get("enumNames")
    if isinstance(schema.get("enum"), list) and isinstance(names, list) and value in schema["enum"]:
        index = schema["enum"].index(value)
        return names[index] if index < len(names) else None
    return None


def _is_file(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"id", "name"} and all(isinstance(v, str) for v in value.values())


def describe(schema: dict | None, value: Any, root: dict | None = None, depth: int = 0) -> Node:
    root = root if root is not None else (schema or {})
    schema = _resolve(schema or {}, root)
    if depth > _MAX_DEPTH:
        return Node("text", text="…")
    if value is None or value == "" or value == [] or value == {}:
        return Node("empty", text="—")
    if _is_file(value):
        return Node("file", text=value["name"], file_id=value["id"])
    if isinstance(value, bool):
        return Node("text", text=_("Yes") if value else _("No"))
    if isinstance(value, dict):
        props = _properties(schema, root)
        fields = []
        for name in [*props, *[k for k in value if k not in props]]:
            if name not in value:
                continue
            sub = props.get(name, {})
            label = _resolve(sub, root).get("title") or sub.get("title") or name
            node = describe(sub, value[name], root, depth + 1)
            if node.kind != "empty":
                fields.append((label, node))
        return Node("object", fields=fields) if fields else Node("empty", text="—")
    if isinstance(value, list):
        item_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        item_schema = _resolve(item_schema, root)
        nodes = [describe(item_schema, item, root, depth + 1) for item in value]
        if all(n.kind in ("text", "empty") for n in nodes):
            return Node("text", text=", ".join(n.text for n in nodes))
        return Node("list", items=nodes)
    title = _choice_title(schema, value, root)
    return Node("text", text=str(title if title is not None else value))
