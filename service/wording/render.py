"""Submitted form data, shown readably: each value under its form label, choices by their titles.

Works on the localized, reference-expanded schema of the step's form. Values the schema does not describe
are still shown, under their key, so nothing submitted is hidden from the people who may see it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..forms.context import resolve as _resolve  # local $refs, the same walk the context files use

_MAX_DEPTH = 12
_DURATION = re.compile(r"^P(?!$)(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
                       r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")
_UNITS = {
    "ja": {"Y": "{}年", "M": "{}か月", "W": "{}週間", "D": "{}日", "h": "{}時間", "m": "{}分", "s": "{}秒"},
    "en": {"Y": ("{} year", "{} years"), "M": ("{} month", "{} months"), "W": ("{} week", "{} weeks"),
           "D": ("{} day", "{} days"), "h": ("{} hour", "{} hours"), "m": ("{} minute", "{} minutes"),
           "s": ("{} second", "{} seconds")},
}
# data keys whose values are usernames: shown as the person's name
PERSON_KEYS = ("username", "to_username", "actor_name", "reviewer_name", "submitted_by", "created_by")


def _lang() -> str:
    from .labels import lang

    try:
        return lang()
    except RuntimeError:  # outside a request or app context
        return "ja"


def duration_text(value: str, lang: str | None = None) -> str | None:
    """An ISO-8601 duration (P12M, P1Y6M, P30D, PT2H) as people write it: 12か月 / 12 months; None if it is not one."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        return None
    lang = lang or _lang()
    parts = []
    for unit, number in match.groupdict().items():
        if number is None:
            continue
        form = _UNITS["ja" if lang != "en" else "en"][unit]
        if isinstance(form, tuple):
            form = form[0] if int(number) == 1 else form[1]
        parts.append(form.format(int(number)))
    return ("" if lang != "en" else " ").join(parts) if parts else None


def absolute(value: datetime | date | str | None, with_time: bool = True) -> str:
    """2026-04-01 09:00 in Japan time (what people here read and type); an ISO-8601 text (a time as recorded in
    the audit log, UTC) is read first, so that every time shown goes through this one formatter."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd HH:mm" if with_time else "yyyy-MM-dd")
    return value.isoformat()


_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def moment_text(value: str) -> str | None:
    """An ISO-8601 date-time (a deadline, a timer) as every time is shown: in Japan time, to the minute (the one
    formatter, `absolute`); None if it is not one."""
    if not isinstance(value, str) or not _MOMENT.match(value):
        return None
    try:
        return absolute(value.replace("Z", "+00:00"))
    except (ValueError, RuntimeError, KeyError):  # not a real moment, or no application to format in
        return None


def person_name(username: Any) -> str:
    """A username as people read it: the person's display name (cached per request); as is when unknown."""
    if not isinstance(username, str) or not username:
        return str(username or "")
    try:
        from flask import current_app, g

        cache = g.setdefault("tejun_person_names", {})
        if username not in cache:
            from ..auth.admin import display_name_of

            cache[username] = display_name_of(current_app.extensions["tejun"], username)
        return cache[username] or username
    except RuntimeError:  # no application context
        return username


def code_word(value: Any) -> str | None:
    """A code of the known vocabularies (a role, a stage, a variant, a message, ...) as the reader's word."""
    from . import labels

    if not isinstance(value, str) or not value:
        return None
    for table in (labels.MEMBER_ROLES, labels.ROLES, labels.VARIANTS, labels.STAGES, labels.OUTCOMES,
                  labels.MESSAGES, labels.STATUSES):
        if value in table:
            return str(table[value])
    return None


@dataclass
class Node:
    kind: str  # object | list | text | file | empty
    text: str = ""
    fields: list[tuple[str, Node]] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    file_id: str = ""


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


def describe(schema: dict | None, value: Any, root: dict | None = None, depth: int = 0,
             titles: dict[str, str] | None = None, key: str = "") -> Node:
    """`titles` names keys the schema does not describe (e.g. from the model's other forms); `key` is the
    value's own key (a username under `username` is shown as the person's name)."""
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
            label = _resolve(sub, root).get("title") or sub.get("title") or (titles or {}).get(name) or name
            node = describe(sub, value[name], root, depth + 1, titles, name)
            if node.kind != "empty":
                fields.append((label, node))
        return Node("object", fields=fields) if fields else Node("empty", text="—")
    if isinstance(value, list):
        item_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        item_schema = _resolve(item_schema, root)
        nodes = [describe(item_schema, item, root, depth + 1, titles, key) for item in value]
        if all(n.kind in ("text", "empty") for n in nodes):
            return Node("text", text=", ".join(n.text for n in nodes))
        return Node("list", items=nodes)
    title = _choice_title(schema, value, root)
    if title is None and key and titles:
        title = titles.get(f"{key}={value}")
    if title is None and isinstance(value, str):
        person = key in PERSON_KEYS or key.endswith("_username")
        title = person_name(value) if person else (duration_text(value) or moment_text(value) or code_word(value))
    return Node("text", text=str(title if title is not None else value))
