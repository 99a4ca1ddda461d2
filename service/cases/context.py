"""What a task shows its worker beside the form: context declared in the model, and the task's instructions.

A user task names a context file of the model set with the property `contextFilename` (docs/modeling.md,
"Context beside the form"): a JSON list of entries

    {"path": "fa_review.questions", "title": "質問事項", "x-i18n": {"en": {"title": "Questions"}},
     "part": "fa", "visible_to": ["lead"], "schema": {...} | "form.schema.json#/pointer", "in_title": false}

`path` is read in the task's data (dots between keys, whole numbers index lists). The value is shown with a
schema: the entry's own, or the one of the form that produced the path's first key (its titles, choice labels
and reference lists, localized). Strings with `"format": "date"` are shown as dates, values with
`"x-display": "user"` (user id or username) and `"x-display": "organization"` (organization id) by name.

Who sees an entry is `permissions.case_scope`, the one rule: an entry belongs to the part of the case it
comes from, `part` (the organization of scope `fa`, `lead`, `task` = the one this task is routed to, or `X` =
the id in the task data's `X_organization_id`; `lead` when not said). The viewer sees it when their scope
`sees` that organization, or one the entry is explicitly shared with (`visible_to`, same scopes), or when it
is shared with `worker` and they may work the task. Nothing here widens what a page shows beyond that.

`spiffworkflow:instructionsForEndUser` (SpiffArena's Markdown with Jinja over the task data) is rendered in
Jinja's SandboxedEnvironment with autoescape, then as Markdown with raw HTML disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.actor import Actor
from ..auth.permissions import CaseScope, may_work
from ..clock import JST
from ..designer.store import form_json, version_files
from ..forms import references
from ..forms.context import (
    CONTEXT_PROPERTY,
    WORKER,
    form_producing,
    lookup,
    pointer_target,
    properties,
    resolve,
    split_path,
    subschema,
)
from ..forms.schema import expand_references, localize
from ..models import Case, Organization, User, WorkItem

INSTRUCTIONS_KEY = "instructionsForEndUser"
_MAX_TITLE_PART = 80


@dataclass
class ContextItem:
    """One entry the viewer may see: `value` as the data holds it (the API), `display` ready to render with
    `schema` (localized, reference lists filled in, dates and names resolved)."""

    path: str
    title: str
    value: Any
    display: Any = None
    schema: dict = field(default_factory=dict)
    root: dict = field(default_factory=dict)
    description: str | None = None


# -- reading the context of one task ---------------------------------------------------------------------
def context_entries(session: Session, version_id: int, name: str | None) -> list[dict]:
    if not name:
        return []
    entries = form_json(session, version_id, name)
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)] \
        if isinstance(entries, list) else []


def _organization(case: Case, item: WorkItem, data: dict, scope: str) -> int | None:
    if scope == "fa":
        return case.funding_agency_id
    if scope == "lead":
        return case.lead_institution_id
    if scope == "task":
        return item.organization_id
    try:
        return int(data.get(f"{scope}_organization_id"))
    except (TypeError, ValueError):
        return None


def may_see(actor: Actor, scope: CaseScope, case: Case, item: WorkItem, data: dict, entry: dict) -> bool:
    """`case_scope(actor, case).sees(org)` for the entry's part, or for an organization it is shared with."""
    shared = entry.get("visible_to") or []
    shared = [shared] if isinstance(shared, str) else list(shared)
    if WORKER in shared and may_work(actor, item):
        return True
    orgs = [_organization(case, item, data, s) for s in [entry.get("part") or "lead", *shared] if s != WORKER]
    return any(scope.sees(org) for org in orgs if org is not None)


def _title(entry: dict, lang: str, key: str = "title") -> str | None:
    texts = (entry.get("x-i18n") or {}).get(lang) or {}
    value = texts.get(key) if lang != "ja" else None
    return value or entry.get(key)


def entry_schema(session: Session, case: Case, entry: dict, lang: str) -> tuple[dict, dict]:
    """(schema of the entry's value, the root its $refs resolve in): localized, reference lists filled in."""
    declared = entry.get("schema")
    parts = split_path(entry["path"])
    file, pointer = None, None
    if isinstance(declared, str):
        file, _, pointer = declared.partition("#")
    elif not isinstance(declared, dict):
        files = {n: None for n in version_files(session, case.model_version_id) if n.endswith(".schema.json")
                 and not n.endswith(".uischema.json")}
        forms = {n: form_json(session, case.model_version_id, n) for n in files}
        file = form_producing(forms, str(parts[0]))
    if file:
        raw = form_json(session, case.model_version_id, file)
        if not isinstance(raw, dict):
            return {}, {}
        root = localize(expand_references(raw, references.provider(session), lang), lang)
        found = pointer_target(root, pointer) if pointer else subschema(root, parts)
        return (found if isinstance(found, dict) else {}), root
    if isinstance(declared, dict):
        root = localize(expand_references(declared, references.provider(session), lang), lang)
        return root, root
    return {}, {}


class _Names:
    """People and organizations by name, looked up once per page."""

    def __init__(self, session: Session, lang: str):
        self.session, self.lang = session, lang
        self.orgs: dict[int, str] = {}
        self.users: dict[str, str] = {}

    def organization(self, value: Any) -> str:
        try:
            org_id = int(value)
        except (TypeError, ValueError):
            return str(value)
        if org_id not in self.orgs:
            org = self.session.get(Organization, org_id)
            self.orgs[org_id] = ((org.name_en if self.lang == "en" and org.name_en else org.name) if org
                                 else str(value))
        return self.orgs[org_id]

    def user(self, value: Any) -> str:
        key = str(value)
        if key not in self.users:
            where = User.id == int(key) if key.isdigit() else User.username == key
            row = self.session.execute(select(User.display_name, User.username).where(where)).first()
            self.users[key] = (row[0] or row[1]) if row else key
        return self.users[key]


def format_day(value: Any, lang: str, with_time: bool = False) -> str:
    text = str(value)
    try:
        if with_time:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=JST)
            return format_datetime(moment.astimezone(JST), "medium", tzinfo=JST, locale=lang)
        return format_date(date.fromisoformat(text[:10]), "long", locale=lang)
    except (ValueError, TypeError, LookupError):
        return text


def displayed(schema: Any, value: Any, root: dict, names: _Names, depth: int = 0) -> Any:
    """The value with dates formatted and ids/usernames replaced by names, as its schema says."""
    schema = resolve(schema, root)
    if depth > 12 or value is None:
        return value
    kind = schema.get("x-display")
    if kind == "organization" and not isinstance(value, dict | list):
        return names.organization(value)
    if kind == "user" and not isinstance(value, dict | list):
        return names.user(value)
    if isinstance(value, str) and schema.get("format") in ("date", "date-time"):
        return format_day(value, names.lang, schema["format"] == "date-time")
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [displayed(items, v, root, names, depth + 1) for v in value]
    if isinstance(value, dict) and set(value) != {"id", "name"}:
        props = properties(schema, root)
        # a schema that names the fields shows those only: codes and ids it leaves out stay out of the panel
        return {k: displayed(props.get(k, {}), v, root, names, depth + 1) for k, v in value.items()
                if not props or k in props}
    return value


def task_context(session: Session, actor: Actor, scope: CaseScope, case: Case, item: WorkItem,
                 properties_: dict, data: dict, lang: str = "ja") -> list[ContextItem]:
    """The context entries of the task the viewer may see, in the file's order."""
    found = []
    names = _Names(session, lang)
    for entry in context_entries(session, case.model_version_id, properties_.get(CONTEXT_PROPERTY)):
        if not may_see(actor, scope, case, item, data, entry):
            continue
        value = lookup(data, entry["path"])
        schema, root = entry_schema(session, case, entry, lang)
        found.append(ContextItem(
            path=entry["path"], title=_title(entry, lang) or entry["path"], value=value,
            display=displayed(schema, value, root, names), schema=schema, root=root,
            description=_title(entry, lang, "description"),
        ))
    return found


# -- titles in queues -------------------------------------------------------------------------------------
def _plain(schema: dict, value: Any, root: dict) -> str:
    schema = resolve(schema, root)
    if value is None or value == "" or isinstance(value, dict):
        return ""
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return ", ".join(t for t in (_plain(items, v, root) for v in value) if t)
    for option in schema.get("oneOf") or schema.get("anyOf") or []:
        option = resolve(option, root)
        if option.get("const", object()) == value or option.get("enum") == [value]:
            return str(option.get("title") or value)
    return str(value)


def title_suffixes(session: Session, case: Case, properties_: dict, data: dict) -> tuple[str, str]:
    """(Japanese, English) text naming what the task is about, from the context entries marked `in_title`:
    e.g. whose disclosure it is. Shown to everyone who sees the task in a queue."""
    out = []
    for lang in ("ja", "en"):
        names = _Names(session, lang)
        parts = []
        for entry in context_entries(session, case.model_version_id, properties_.get(CONTEXT_PROPERTY)):
            if not entry.get("in_title"):
                continue
            schema, root = entry_schema(session, case, entry, lang)
            value = displayed(schema, lookup(data, entry["path"]), root, names)
            text = _plain(schema, value, root).strip()
            if text:
                parts.append(text[:_MAX_TITLE_PART])
        out.append((" · " if lang == "en" else "・").join(parts))
    return out[0], out[1]


# -- instructions ------------------------------------------------------------------------------------------
_jinja = ImmutableSandboxedEnvironment(autoescape=True)
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def instructions_of(extensions: dict | None) -> str | None:
    text = (extensions or {}).get(INSTRUCTIONS_KEY)
    return text if isinstance(text, str) and text.strip() else None


def render_instructions(template: str | None, data: dict, lang: str = "ja") -> Markup | None:
    """Markdown with Jinja over the task data, as SpiffArena writes `instructionsForEndUser`: the template runs
    sandboxed with every value escaped, and the Markdown allows no raw HTML, so the data cannot inject any.
    The template may ask for `lang` (the page's language, `ja` or `en`) to be written in both."""
    if not template:
        return None
    try:
        values = {k: v for k, v in data.items() if isinstance(k, str)}
        text = _jinja.from_string(template).render({**values, "lang": lang})
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        return Markup('<p class="muted">{}</p>').format(f"({type(exc).__name__})")
    return Markup(_markdown.render(str(text)))  # noqa: S704 -- markdown-it with html disabled escapes everything

