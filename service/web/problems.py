"""JSON answers for the form endpoints (form.js contract): problem details in the user's language.

Field errors from JSON Schema validation carry the failed keyword; the common keywords get a message in
the page's language (the same wording the browser's own check uses), others keep the validator's text.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..api.problems import problem
from ..errors import Conflict, Forbidden, NotFound, TejunError, ValidationFailed
from .errors import message_for

KEYWORD_MESSAGES = {
    "required": _l("This field is required."),
    "dependencies": _l("This field is required."),
    "dependentRequired": _l("This field is required."),
    "type": _l("This value has the wrong type."),
    "format": _l("The format is not valid."),
    "pattern": _l("The format is not valid."),
    "minLength": _l("This is too short."),
    "maxLength": _l("This is too long."),
    "minItems": _l("Add more entries."),
    "maxItems": _l("There are too many entries."),
    "uniqueItems": _l("The same entry appears twice."),
    "enum": _l("Choose one of the options."),
    "const": _l("Choose one of the options."),
    "oneOf": _l("Choose one of the options."),
    "anyOf": _l("This value does not fit any of the allowed forms."),
    "minimum": _l("The number is too small."),
    "exclusiveMinimum": _l("The number is too small."),
    "maximum": _l("The number is too large."),
    "exclusiveMaximum": _l("The number is too large."),
    "multipleOf": _l("The number is not allowed."),
    "additionalProperties": _l("This field is not part of the form."),
    "not": _l("This value is not allowed."),
}


def field_errors(errors: list[dict]) -> list[dict]:
    translated = []
    for error in errors:
        message = KEYWORD_MESSAGES.get(error.get("keyword", ""))
        translated.append({
            "pointer": error.get("pointer", ""),
            "message": str(message) if message is not None else error.get("message", ""),
            "keyword": error.get("keyword", ""),
        })
    return translated


def json_problem(error: TejunError):
    """A use case's refusal as problem+json, with a `detail` people can read in their language."""
    if isinstance(error, ValidationFailed):
        errors = field_errors(error.errors)
        return problem(422, _("Please check your input"),
                       _("%(count)d field(s) need attention.", count=len(errors)), errors=errors)
    if isinstance(error, Conflict):
        # the conflict's own reason (who holds the task, which version changed...), then what to do about it
        return problem(409, _("Someone else was faster"),
                       message_for(error) + " " + _("Your input is still here; reload the page or go back to "
                                                    "the list to see the current state."))
    if isinstance(error, NotFound):
        return problem(404, _("Not found"), _("This task is no longer open (it may have been completed already)."))
    if isinstance(error, Forbidden):
        return problem(403, _("Not allowed"), _("You may not do that with this task."))
    status_texts = {
        413: _("The file is too large."),
        415: _("Files of this type cannot be uploaded. Allowed: PDF, images, Office documents, CSV, text."),
    }
    detail = status_texts.get(error.status) or _("The request could not be processed: %(detail)s",
                                                 detail=message_for(error))
    return problem(error.status, error.title, detail)
