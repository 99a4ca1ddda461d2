"""Checking submitted form data against the task's JSON Schema before anything reaches the engine."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from ..designer.store import form_json
from ..errors import ValidationFailed
from ..forms import references
from ..forms.schema import expand_references, validate
from ..models import Case, WorkItem

_expanded: dict[tuple[int, str], tuple[float, dict]] = {}


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def expanded_schema(session: Session, case: Case, form: str) -> dict | None:
    """The task's schema with its `x-reference` lists filled in (kept as long as the lists are)."""
    key = (case.model_version_id, form)
    hit = _expanded.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    schema = form_json(session, case.model_version_id, form)
    if schema is None:
        return None
    expanded = expand_references(schema, references.provider(session), "ja")
    _expanded[key] = (time.monotonic() + references.TTL_SECONDS, expanded)
    return expanded


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
