"""Checking submitted form data against the task's JSON Schema before anything reaches the engine."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .. import model_cache
from ..designer.store import form_json
from ..errors import ValidationFailed
from ..forms import references
from ..forms.schema import expand_references, localize, validate
from ..models import Case, WorkItem

# (model version, form) -> (expanded schema, the reference lists it was expanded with)
_expanded = model_cache.bounded("expanded_forms", 512)
# (model version, form, language) -> (the schema as pages show it, the reference lists it was built with)
_shown = model_cache.bounded("shown_forms", 1024)


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def expanded_schema(session: Session, case: Case, form: str) -> dict | None:
    """The task's schema with its `x-reference` lists filled in (kept as long as the lists are).

    The lists come from `references`, which keeps each for a while and drops them on `forget()`: the
    expansion is reused only while every list it used is still the one `references` hands out.
    """
    return _built(_expanded, session, case.model_version_id, form, "ja",
                  lambda raw, lookup: expand_references(raw, lookup, "ja"))


def form_schema(session: Session, case: Case, form: str | None, lang: str) -> dict | None:
    """The task's schema as its page and `GET /api/v1/tasks/<id>` show it, built once per language: reference
    lists filled in with their labels in `lang` (measures, risk levels, institutions, ...), then the form's own
    texts in `lang`. Shared between callers: do not change it."""
    if not form:
        return None
    return _built(_shown, session, case.model_version_id, form, lang,
                  lambda raw, lookup: localize(expand_references(raw, lookup, lang), lang))


def _built(cache, session: Session, version_id: int, form: str, lang: str, build) -> dict | None:
    """`build(raw schema, list lookup)`, kept while every reference list it used is still the one
    `references` hands out (the lists are reloaded now and then, and dropped on `forget()`)."""
    key = (version_id, form) if cache is _expanded else (version_id, form, lang)
    lookup = references.provider(session)
    hit = cache.peek(key)
    if hit is not None and all(lookup(name) is values for name, values in hit[1].items()):
        return hit[0]
    raw = form_json(session, version_id, form)
    if raw is None:
        return None
    used: dict[str, object] = {}

    def recording(name: str):
        used[name] = lookup(name)
        return used[name]

    built = build(raw, recording)
    cache.put(key, (built, used))
    return built


def expand_for_page(session: Session, schema: dict, lang: str) -> dict:
    """A schema as a task page shows it: reference lists filled in as `expanded_schema` fills them (the same
    lists, the same labels), then its texts in `lang`. The designer's form preview renders this."""
    return localize(expand_references(schema, references.provider(session), "ja"), lang)


def validate_submission(session: Session, case: Case, item: WorkItem, data, locale: str = "ja") -> dict:
    """Return the data to merge into the task, or raise ValidationFailed listing every problem by pointer.

    Only the form's own top-level fields are accepted: a submission can never overwrite other case data
    (the outcome, the risk level, the case record) by adding keys of its own.
    """
    if not isinstance(data, dict):
        raise ValidationFailed([{"pointer": "", "message": "form data must be a JSON object", "keyword": "type"}])
    schema = expanded_schema(session, case, item.form) if item.form else None
    allowed = set((schema or {}).get("properties") or {})
    errors = [
        {"pointer": _pointer(key), "message": f"unknown field '{key}'", "keyword": "additionalProperties"}
        for key in data
        if key not in allowed
    ]
    if schema is not None:
        errors += [{"pointer": e.pointer, "message": e.message, "keyword": e.keyword} for e in validate(schema, data)]
    if errors:
        raise ValidationFailed(errors)
    return data
