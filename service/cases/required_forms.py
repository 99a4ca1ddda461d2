"""The forms a call requires must be there before the institution submits to the FA (issue 18, point 6).

The model computes which of the call's required forms (`call.required_forms`) the case does not have yet and
names that list on the submitting task with the property `requiredFormsMissing` (a path in the task's data;
institution_risk_management.bpmn: `check_required_forms` computes `required_forms_missing` before
`institutional_approval`; what "present" means for each kind is documented there and in docs/procedure.md
§9.6). When completing such a task would submit (`submissions.submitting`) while the list is not empty,
`complete_task` refuses: a 422 with one problem per missing form, pointing at the submission as a whole (`""`),
the form named as the task's context names it in the actor's language. A return for rework submits nothing and
passes. The FA's `required_forms_missing` (fa_review.bpmn#open_fa_review) stays as a second line of defence.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..engine.runtime import HumanTask
from ..errors import ValidationFailed
from ..forms.context import CONTEXT_PROPERTY, lookup, resolve
from ..models import Case
from ..notifications.texts import N_, text
from .context import context_entries, entry_schema

PROPERTY = "requiredFormsMissing"

MISSING = N_("The call requires the form \u201c%(form)s\u201d, which this case does not have yet: it cannot be "
             "submitted to the FA until it is there.")


def missing(task: HumanTask, data: dict) -> list[str]:
    """The codes of the required forms the task's data lists as missing ([] when the task names no list)."""
    path = (task.properties.get(PROPERTY) or "").strip()
    found = lookup({**task.data, **data}, path) if path else None
    return [str(code) for code in found] if isinstance(found, list) else []


def labels(session: Session, case: Case, task: HumanTask, lang: str) -> dict[str, str]:
    """Each form code's label, from the schema the task's context shows the list with."""
    path = (task.properties.get(PROPERTY) or "").strip()
    for entry in context_entries(session, case.model_version_id, task.properties.get(CONTEXT_PROPERTY)):
        if entry["path"] == path:
            schema, root = entry_schema(session, case, entry, lang)
            items = resolve(schema.get("items") or {}, root)
            return {str(o.get("const")): str(o.get("title") or o.get("const"))
                    for o in items.get("oneOf") or [] if isinstance(o, dict) and "const" in o}
    return {}


def check(session: Session, case: Case, task: HumanTask, data: dict, locale: str | None) -> None:
    """Refuse the submission this completion makes while required forms are missing (module docstring)."""
    codes = missing(task, data)
    if not codes:
        return
    lang = locale or "ja"
    names = labels(session, case, task, lang)
    raise ValidationFailed([{"pointer": "", "keyword": "required_form", "form": code,
                             "message": text(lang, MISSING, form=names.get(code, code))} for code in codes])
