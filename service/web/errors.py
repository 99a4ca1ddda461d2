"""HTML error pages: a clear message in the user's language, never a traceback."""

from __future__ import annotations

import logging

from flask import render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..errors import TejunError

log = logging.getLogger("tejun.web")

TEXTS = {
    400: (_l("The request could not be processed"), _l("Please go back, check what you entered and try again.")),
    401: (_l("Please sign in"), _l("This page is for signed-in users.")),
    403: (_l("Not allowed"), _l("Your role does not allow this.")),
    404: (_l("Not found"), _l("This page does not exist, or it is not among the cases and tasks you may see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Someone else was faster"), _l("Someone else changed this meanwhile. Reload the page to see the "
                                             "current state.")),
    413: (_l("Too large"), _l("What you sent is larger than allowed.")),
    415: (_l("File type not allowed"), _l("Files of this type cannot be uploaded.")),
    422: (_l("Please check your input"), _l("Some of what you entered does not fit the form.")),
    429: (_l("Too many attempts"), _l("Please wait a while and try again.")),
    500: (_l("Something went wrong on our side"), _l("The error has been logged. Please try again later.")),
}


def message_for(error: TejunError) -> str:
    """A use case's message in the page's language: its `N_` template from the catalog, filled with its
    params (a message the catalogs do not hold stays in English, as the API shows it)."""
    text = gettext(error.template, **error.params) if error.params else gettext(error.template)
    return text[:1].upper() + text[1:]


def page_for(error: Exception):
    if isinstance(error, TejunError):
        status = error.status
    elif isinstance(error, HTTPException):
        status = error.code or 500
    else:
        log.exception("unhandled error")
        status = 500
    if status == 400 and getattr(error, "description", "").startswith("The CSRF"):
        title, detail = _l("The form has expired"), _l("Please reload the page and send the form again.")
    else:
        title, detail = TEXTS.get(status, TEXTS[500] if status >= 500 else TEXTS[400])
    return render_template("error.html", status=status, title=title, detail=detail), status
